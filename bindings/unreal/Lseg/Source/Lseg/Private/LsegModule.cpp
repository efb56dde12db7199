#include "LsegModule.h"

#include "HAL/PlatformProcess.h"
#include "Interfaces/IPluginManager.h"
#include "Misc/Paths.h"

#include <lseg.h>

DEFINE_LOG_CATEGORY(LogLseg);

static bool GLsegLoaded = false;

void FLsegModule::StartupModule()
{
	const TSharedPtr<IPlugin> Plugin = IPluginManager::Get().FindPlugin(TEXT("Lseg"));
	const FString Path = Plugin.IsValid()
		? FPaths::Combine(Plugin->GetBaseDir(), TEXT(LSEG_LIBRARY_PATH))
		: FString(TEXT(LSEG_LIBRARY_PATH));
	LibraryHandle = FPlatformProcess::GetDllHandle(*Path);
	if (LibraryHandle == nullptr)
	{
		UE_LOG(LogLseg, Error,
			TEXT("lseg: cannot load the native library %s (run bindings/unreal/assemble.sh to stage it); segmentation is unavailable"),
			*Path);
		return;
	}
	if (lseg_abi_version() != LSEG_ABI_VERSION)
	{
		UE_LOG(LogLseg, Error, TEXT("lseg: %s has ABI version %u, the plugin was built for %u"), *Path,
			lseg_abi_version(), (uint32)LSEG_ABI_VERSION);
		FPlatformProcess::FreeDllHandle(LibraryHandle);
		LibraryHandle = nullptr;
		return;
	}
	GLsegLoaded = true;
	UE_LOG(LogLseg, Log, TEXT("lseg %s loaded from %s"), UTF8_TO_TCHAR(lseg_version()), *Path);
}

void FLsegModule::ShutdownModule()
{
	GLsegLoaded = false;
	if (LibraryHandle != nullptr)
	{
		FPlatformProcess::FreeDllHandle(LibraryHandle);
		LibraryHandle = nullptr;
	}
}

bool FLsegModule::IsLibraryLoaded()
{
	return GLsegLoaded;
}

IMPLEMENT_MODULE(FLsegModule, Lseg)
