// ULsegSegmenter: open-vocabulary segmentation for Blueprints and C++. Load weights, set
// labels (a TArray<FString>), segment frames asynchronously off the game thread; the result
// arrives on the game thread as a label-map texture (PF_G16, one label index per texel).
#pragma once

#include "CoreMinimal.h"
#include "UObject/Object.h"

#include "LsegSegmenter.generated.h"

class UTexture2D;
namespace lseg_unreal { class Core; }

DECLARE_DYNAMIC_MULTICAST_DELEGATE_FourParams(FLsegSegmented, bool, bSuccess, UTexture2D*, LabelMap,
	const TArray<int32>&, LabelCounts, const FString&, Error);

UCLASS(BlueprintType)
class LSEG_API ULsegSegmenter : public UObject
{
	GENERATED_BODY()

public:
	ULsegSegmenter();
	virtual void BeginDestroy() override;
	virtual bool IsReadyForFinishDestroy() override;

	/** A .safetensors file (absolute, or relative to the project's Content directory). */
	UPROPERTY(EditAnywhere, BlueprintReadWrite, Category = "Lseg")
	FString WeightsPath;

	/** The labels; applied by Load and by SetLabels. */
	UPROPERTY(EditAnywhere, BlueprintReadWrite, Category = "Lseg")
	TArray<FString> Labels;

	/** Long side the network sees (480 for the released weights; 0 = the frame's size). */
	UPROPERTY(EditAnywhere, BlueprintReadWrite, Category = "Lseg")
	int32 Size = 480;

	/** Called on the game thread when a SegmentAsync finishes. */
	UPROPERTY(BlueprintAssignable, Category = "Lseg")
	FLsegSegmented OnSegmented;

	/** Load WeightsPath and encode Labels (blocking: call it at start-up). */
	UFUNCTION(BlueprintCallable, Category = "Lseg")
	bool Load(FString& Error);

	/** Encode and switch to new labels (frames already running keep the old set). */
	UFUNCTION(BlueprintCallable, Category = "Lseg")
	bool SetLabels(const TArray<FString>& NewLabels, FString& Error);

	/** Segment a frame (FColor is BGRA8) on a background thread; false if one is running. */
	UFUNCTION(BlueprintCallable, Category = "Lseg")
	bool SegmentAsync(const TArray<FColor>& Pixels, int32 Width, int32 Height);

	/** Whether a SegmentAsync is running. */
	UFUNCTION(BlueprintPure, Category = "Lseg")
	bool IsBusy() const { return bBusy; }

	/** lseg's colour of a label index (the CLI's and the ROS nodes' palette). */
	UFUNCTION(BlueprintPure, Category = "Lseg")
	static FColor LabelColor(int32 Label);

private:
	TSharedPtr<lseg_unreal::Core, ESPMode::ThreadSafe> Core;
	TAtomic<bool> bBusy{false};
};
