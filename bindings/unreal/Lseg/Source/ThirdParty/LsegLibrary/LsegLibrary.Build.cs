// The prebuilt lseg library as an External module: headers in include/ (lseg.h, lseg.hpp),
// the shared library in <Plugin>/Binaries/ThirdParty/Lseg/<Platform>/ (staged with the game
// and loaded by the Lseg module at start-up), both put there by bindings/unreal/assemble.sh.
using System.IO;
using UnrealBuildTool;

public class LsegLibrary : ModuleRules
{
	public LsegLibrary(ReadOnlyTargetRules Target) : base(Target)
	{
		Type = ModuleType.External;
		PublicSystemIncludePaths.Add(Path.Combine(ModuleDirectory, "include"));
		// lseg.hpp without exceptions, as Unreal builds C++.
		PublicDefinitions.Add("LSEG_CPP_NO_EXCEPTIONS=1");

		string BinDir = Path.Combine(PluginDirectory, "Binaries", "ThirdParty", "Lseg", Target.Platform.ToString());
		string Library;
		if (Target.Platform == UnrealTargetPlatform.Win64)
		{
			PublicAdditionalLibraries.Add(Path.Combine(BinDir, "lseg.dll.lib"));
			Library = "lseg.dll";
		}
		else if (Target.Platform == UnrealTargetPlatform.Mac)
		{
			Library = "liblseg.dylib";
			PublicAdditionalLibraries.Add(Path.Combine(BinDir, Library));
		}
		else
		{
			// Linked as liblseg.so, loaded by its soname liblseg.so.1 (both staged).
			PublicAdditionalLibraries.Add(Path.Combine(BinDir, "liblseg.so"));
			RuntimeDependencies.Add(Path.Combine("$(PluginDir)", "Binaries", "ThirdParty", "Lseg", Target.Platform.ToString(), "liblseg.so"));
			Library = "liblseg.so.1";
		}
		PublicDelayLoadDLLs.Add(Library);
		RuntimeDependencies.Add(Path.Combine("$(PluginDir)", "Binaries", "ThirdParty", "Lseg", Target.Platform.ToString(), Library));
		// Where FLsegModule::StartupModule finds it, relative to the plugin's base directory.
		PublicDefinitions.Add("LSEG_LIBRARY_PATH=\"Binaries/ThirdParty/Lseg/" + Target.Platform.ToString() + "/" + Library + "\"");
	}
}
