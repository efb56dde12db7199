// The friendly layer's value types: enums with the C values, option classes whose defaults
// are the C *_default() values, and the exception every library error becomes.
using System;
using System.Collections.Generic;

// Enum members and option fields carry the meaning of their lseg.h counterparts.
#pragma warning disable 1591

namespace Lseg
{
    /// <summary>`lseg_status`.</summary>
    public enum Status
    {
        Ok = 0,
        InvalidArgument = 1,
        BufferTooSmall = 2,
        Io = 3,
        InvalidWeights = 4,
        MissingTensor = 5,
        ShapeMismatch = 6,
        UnsupportedDType = 7,
        Config = 8,
        Label = 9,
        BackendUnavailable = 10,
        Tokenizer = 11,
        Cancelled = 12,
        ImageDecode = 13,
        Internal = 14,
    }

    /// <summary>Compute backend (`lseg_backend`).</summary>
    public enum Backend : uint { Default = 0, Flex = 1, Ndarray = 2, TchCpu = 3, TchCuda = 4 }

    /// <summary>Weight and compute precision (`lseg_dtype`).</summary>
    public enum DType : uint { F32 = 0, F16 = 1, BF16 = 2 }

    /// <summary>Pixel layout of a frame (`lseg_pixel_format`); Unity's RGBA32 is <see cref="Rgba8"/>.</summary>
    public enum PixelFormat : uint { Rgb8 = 0, Bgr8 = 1, Rgba8 = 2, Bgra8 = 3, Gray8 = 4 }

    /// <summary>Evaluation protocol (`lseg_mode`).</summary>
    public enum Mode : uint { Single = 0, MultiScale = 1 }

    /// <summary>Normalisation of pixel embeddings (`lseg_embed_norm`).</summary>
    public enum EmbedNorm : uint { Raw = 0, L2 = 1, L2Scaled = 2 }

    /// <summary>Grid of pixel embeddings (`lseg_embed_resolution`).</summary>
    public enum EmbedResolution : uint { Native = 0, Input = 1 }

    /// <summary>Memory order of pixel embeddings (`lseg_layout`).</summary>
    public enum Layout : uint { Chw = 0, Hwc = 1 }

    /// <summary>Which per-pixel outputs <c>Model.Segment</c> computes.</summary>
    [Flags]
    public enum Outputs { LabelMap = 1, Scores = 2, Confidence = 4, All = 7 }

    /// <summary>An error reported by the lseg library: its status and message.</summary>
    public class LsegException : Exception
    {
        public LsegException(Status status, string message) : base(message) { Status = status; }
        /// <summary>The library's status code.</summary>
        public Status Status { get; private set; }
        /// <summary>`LSEG_ERR_...` name of the status.</summary>
        public string StatusName { get { return Library.StatusName(Status); } }
    }

    /// <summary>How to load a model (`lseg_model_params`).</summary>
    public sealed class ModelOptions
    {
        public Backend Backend = Backend.Default;
        /// <summary>CUDA device for <see cref="Backend.TchCuda"/>.</summary>
        public uint DeviceIndex;
        public DType DType = DType.F32;
        /// <summary>CPU threads, 0 = all cores (process-wide, fixed at first use).</summary>
        public uint Threads;
        /// <summary>Model configuration JSON; null reads it from the weights.</summary>
        public string ConfigJson;
    }

    /// <summary>How to segment (`lseg_segment_params`); defaults: single scale at 480.</summary>
    public sealed class SegmentOptions
    {
        public Mode Mode = Mode.Single;
        /// <summary>Single scale: long side the image is resized to; 0 = the input size.</summary>
        public uint Size = 480;
        /// <summary>Multi-scale: long side at scale 1.0.</summary>
        public uint BaseSize = 520;
        /// <summary>Multi-scale: sliding-window size (a multiple of 32).</summary>
        public uint CropSize = 480;
        /// <summary>Multi-scale: add the flipped pass.</summary>
        public bool Flip = true;
        /// <summary>Multi-scale scales; null = the official {0.5 .. 1.75}.</summary>
        public IList<double> Scales;
    }

    /// <summary>How to embed (`lseg_embed_params`); defaults: 480, L2, native grid, CHW.</summary>
    public sealed class EmbedOptions
    {
        public uint Size = 480;
        public EmbedNorm Norm = EmbedNorm.L2;
        public EmbedResolution Resolution = EmbedResolution.Native;
        public Layout Layout = Layout.Chw;
    }

    /// <summary>The result of <c>Model.Segment</c>: row-major, at the frame's resolution.</summary>
    public sealed class Segmentation
    {
        internal Segmentation(int width, int height, int labels, ushort[] map, float[] scores, float[] confidence)
        {
            Width = width; Height = height; LabelCount = labels;
            LabelMap = map; Scores = scores; Confidence = confidence;
        }
        public int Width { get; private set; }
        public int Height { get; private set; }
        /// <summary>Number of labels of the set used.</summary>
        public int LabelCount { get; private set; }
        /// <summary>Label index per pixel (`Width * Height`), or null if not requested.</summary>
        public ushort[] LabelMap { get; private set; }
        /// <summary>Logits, label-major (`LabelCount * Height * Width`), or null.</summary>
        public float[] Scores { get; private set; }
        /// <summary>Softmax probability of the chosen label per pixel, or null.</summary>
        public float[] Confidence { get; private set; }
    }

    /// <summary>Dense pixel embeddings: `Dim x Height x Width` floats in <see cref="Layout"/> order.</summary>
    public sealed class Embedding
    {
        internal Embedding(int dim, int height, int width, Layout layout, float[] data)
        {
            Dim = dim; Height = height; Width = width; Layout = layout; Data = data;
        }
        public int Dim { get; private set; }
        public int Height { get; private set; }
        public int Width { get; private set; }
        public Layout Layout { get; private set; }
        public float[] Data { get; private set; }
    }
}
