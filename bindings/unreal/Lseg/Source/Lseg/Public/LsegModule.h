// The Lseg runtime module: loads the lseg shared library at start-up and frees it at
// shut-down.
#pragma once

#include "Modules/ModuleManager.h"

DECLARE_LOG_CATEGORY_EXTERN(LogLseg, Log, All);

class FLsegModule : public IModuleInterface
{
public:
	virtual void StartupModule() override;
	virtual void ShutdownModule() override;

	/** Whether the library was found and loaded (segmenters refuse to work otherwise). */
	static bool IsLibraryLoaded();

private:
	void* LibraryHandle = nullptr;
};
