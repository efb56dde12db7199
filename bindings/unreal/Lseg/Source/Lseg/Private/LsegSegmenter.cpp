#include "LsegSegmenter.h"

#include "Async/Async.h"
#include "Engine/Texture2D.h"
#include "LsegModule.h"
#include "Misc/Paths.h"
#include "TextureResource.h"

#include "LsegCore.h"

ULsegSegmenter::ULsegSegmenter()
	: Core(MakeShared<lseg_unreal::Core, ESPMode::ThreadSafe>())
{
}

void ULsegSegmenter::BeginDestroy()
{
	Super::BeginDestroy();
}

bool ULsegSegmenter::IsReadyForFinishDestroy()
{
	// A running segmentation holds a reference to Core, not to this object; nothing to wait for.
	return Super::IsReadyForFinishDestroy();
}

static std::vector<std::string> ToUtf8(const TArray<FString>& Strings)
{
	std::vector<std::string> Out;
	Out.reserve(Strings.Num());
	for (const FString& S : Strings)
	{
		Out.emplace_back(TCHAR_TO_UTF8(*S));
	}
	return Out;
}

bool ULsegSegmenter::Load(FString& Error)
{
	if (!FLsegModule::IsLibraryLoaded())
	{
		Error = TEXT("the lseg library is not loaded (see the log)");
		return false;
	}
	const FString Path = FPaths::IsRelative(WeightsPath) ? FPaths::Combine(FPaths::ProjectContentDir(), WeightsPath) : WeightsPath;
	std::string E;
	if (!Core->load(TCHAR_TO_UTF8(*Path), E) || !Core->set_labels(ToUtf8(Labels), E))
	{
		Error = UTF8_TO_TCHAR(E.c_str());
		UE_LOG(LogLseg, Error, TEXT("lseg: %s"), *Error);
		return false;
	}
	return true;
}

bool ULsegSegmenter::SetLabels(const TArray<FString>& NewLabels, FString& Error)
{
	std::string E;
	if (!Core->set_labels(ToUtf8(NewLabels), E))
	{
		Error = UTF8_TO_TCHAR(E.c_str());
		return false;
	}
	Labels = NewLabels;
	return true;
}

FColor ULsegSegmenter::LabelColor(int32 Label)
{
	uint8 R = 0, G = 0, B = 0;
	if (Label >= 0 && FLsegModule::IsLibraryLoaded())
	{
		lseg_unreal::label_color(uint32(Label), R, G, B);
	}
	return FColor(R, G, B, 255);
}

bool ULsegSegmenter::SegmentAsync(const TArray<FColor>& Pixels, int32 Width, int32 Height)
{
	if (bBusy.Exchange(true))
	{
		return false;
	}
	TWeakObjectPtr<ULsegSegmenter> Self(this);
	auto C = Core;
	const int32 Side = Size;
	Async(EAsyncExecution::ThreadPool, [Self, C, Pixels, Width, Height, Side]()
	{
		lseg_unreal::LabelMap Map;
		std::string E;
		const bool bOk = Width > 0 && Height > 0 && Pixels.Num() >= Width * Height &&
			C->segment_bgra(reinterpret_cast<const uint8_t*>(Pixels.GetData()), uint32(Width), uint32(Height), 0,
				uint32(FMath::Max(Side, 0)), Map, E);
		if (!bOk && E.empty())
		{
			E = "the pixel array is smaller than Width x Height";
		}
		AsyncTask(ENamedThreads::GameThread, [Self, bOk, Map = MoveTemp(Map), E]()
		{
			ULsegSegmenter* S = Self.Get();
			if (S == nullptr)
			{
				return;
			}
			S->bBusy = false;
			UTexture2D* Texture = nullptr;
			TArray<int32> Counts;
			if (bOk)
			{
				Counts.SetNumZeroed(Map.label_count);
				for (uint16 L : Map.labels)
				{
					if (L < Map.label_count) Counts[L]++;
				}
				Texture = UTexture2D::CreateTransient(Map.width, Map.height, PF_G16);
				if (Texture != nullptr)
				{
					Texture->SRGB = false;
					Texture->Filter = TF_Nearest;
					void* Data = Texture->GetPlatformData()->Mips[0].BulkData.Lock(LOCK_READ_WRITE);
					FMemory::Memcpy(Data, Map.labels.data(), Map.labels.size() * sizeof(uint16));
					Texture->GetPlatformData()->Mips[0].BulkData.Unlock();
					Texture->UpdateResource();
				}
			}
			S->OnSegmented.Broadcast(bOk, Texture, Counts, UTF8_TO_TCHAR(E.c_str()));
		});
	});
	return true;
}
