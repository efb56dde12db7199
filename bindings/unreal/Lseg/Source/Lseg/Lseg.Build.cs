// The runtime module: loads the library, wraps it for Blueprints (ULsegSegmenter).
using UnrealBuildTool;

public class Lseg : ModuleRules
{
	public Lseg(ReadOnlyTargetRules Target) : base(Target)
	{
		PCHUsage = ModuleRules.PCHUsageMode.UseExplicitOrSharedPCHs;
		PublicDependencyModuleNames.AddRange(new string[] { "Core", "CoreUObject", "Engine" });
		PrivateDependencyModuleNames.AddRange(new string[] { "Projects", "RenderCore", "LsegLibrary" });
	}
}
