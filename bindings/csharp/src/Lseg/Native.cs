// Lseg.Native: the whole C ABI of include/lseg.h as P/Invoke declarations. Structs are
// blittable and match the C layout field for field (tests/layout checks sizeof/offsetof
// against the C compiler); handles are SafeHandles; no UnityEngine reference.
using System;
using System.Runtime.InteropServices;

// Members mirror include/lseg.h one to one and are documented there.
#pragma warning disable 1591

namespace Lseg.Native
{
    /// <summary>`lseg_model_params`.</summary>
    [StructLayout(LayoutKind.Sequential)]
    public struct ModelParams
    {
        public uint StructSize;
        public uint Backend;
        public uint DeviceIndex;
        public uint DType;
        public uint NThreads;
        /// <summary>UTF-8, NUL-terminated path, or zero.</summary>
        public IntPtr WeightsPath;
        public IntPtr WeightsData;
        public UIntPtr WeightsSize;
        /// <summary>UTF-8 JSON, or zero.</summary>
        public IntPtr ConfigJson;
    }

    /// <summary>`lseg_segment_params`.</summary>
    [StructLayout(LayoutKind.Sequential)]
    public struct SegmentParams
    {
        public uint StructSize;
        public uint Mode;
        public uint Size;
        public uint BaseSize;
        public uint CropSize;
        public uint Flip;
        /// <summary>`const double *`, or zero for the official scales.</summary>
        public IntPtr Scales;
        public UIntPtr NScales;
        /// <summary>An `lseg_progress_fn` (a static delegate's function pointer), or zero.</summary>
        public IntPtr Progress;
        public IntPtr UserData;
    }

    /// <summary>`lseg_segment_outputs`: caller-allocated, lengths in elements.</summary>
    [StructLayout(LayoutKind.Sequential)]
    public struct SegmentOutputs
    {
        public uint StructSize;
        public IntPtr LabelMap;
        public UIntPtr LabelMapLen;
        public IntPtr Scores;
        public UIntPtr ScoresLen;
        public IntPtr Confidence;
        public UIntPtr ConfidenceLen;
    }

    /// <summary>`lseg_image`: a borrowed 8-bit image.</summary>
    [StructLayout(LayoutKind.Sequential)]
    public struct Image
    {
        public IntPtr Data;
        public uint Width;
        public uint Height;
        /// <summary>Bytes per row; 0 = packed.</summary>
        public UIntPtr Stride;
        public uint Format;
    }

    /// <summary>`lseg_embed_params`.</summary>
    [StructLayout(LayoutKind.Sequential)]
    public struct EmbedParams
    {
        public uint StructSize;
        public uint Size;
        public uint Norm;
        public uint Resolution;
        public uint DType;
        public uint Layout;
    }

    /// <summary>`lseg_progress_fn`: return false to cancel.</summary>
    [UnmanagedFunctionPointer(CallingConvention.Cdecl)]
    [return: MarshalAs(UnmanagedType.I1)]
    public delegate bool ProgressFn(UIntPtr done, UIntPtr total, IntPtr userData);

    /// <summary>An `lseg_model *`; released with `lseg_free`.</summary>
    public sealed class ModelHandle : SafeHandle
    {
        public ModelHandle() : base(IntPtr.Zero, true) { }
        public override bool IsInvalid { get { return handle == IntPtr.Zero; } }
        protected override bool ReleaseHandle() { NativeMethods.lseg_free(handle); return true; }
    }

    /// <summary>An `lseg_labels *`; released with `lseg_labels_free`.</summary>
    public sealed class LabelsHandle : SafeHandle
    {
        public LabelsHandle() : base(IntPtr.Zero, true) { }
        public override bool IsInvalid { get { return handle == IntPtr.Zero; } }
        protected override bool ReleaseHandle() { NativeMethods.lseg_labels_free(handle); return true; }
    }

    /// <summary>The C functions, one declaration each (names as in lseg.h).</summary>
    public static class NativeMethods
    {
#if (UNITY_IOS || UNITY_WEBGL) && !UNITY_EDITOR
        public const string Library = "__Internal";  // statically linked (liblseg.a)
#else
        public const string Library = "lseg";  // liblseg.so / liblseg.dylib / lseg.dll
#endif
        public const uint LSEG_ABI_VERSION = 1;
        public const uint LSEG_LABELS_TRUNCATE = 1;
        public const uint LSEG_MAX_IMAGE_SIDE = 16384;
        public const uint LSEG_MAX_LABELS = 65535;
        public const uint LSEG_MAX_LABEL_BYTES = 4096;
        public const uint LSEG_MAX_SCALES = 64;
        public const ulong LSEG_MAX_WEIGHTS_BYTES = 8UL << 30;

        [DllImport(Library, CallingConvention = CallingConvention.Cdecl)]
        public static extern IntPtr lseg_version();
        [DllImport(Library, CallingConvention = CallingConvention.Cdecl)]
        public static extern uint lseg_abi_version();
        [DllImport(Library, CallingConvention = CallingConvention.Cdecl)]
        public static extern IntPtr lseg_status_name(int status);
        [DllImport(Library, CallingConvention = CallingConvention.Cdecl)]
        public static extern IntPtr lseg_last_error();
        [DllImport(Library, CallingConvention = CallingConvention.Cdecl)]
        [return: MarshalAs(UnmanagedType.I1)]
        public static extern bool lseg_backend_is_compiled(uint backend);
        [DllImport(Library, CallingConvention = CallingConvention.Cdecl)]
        public static extern uint lseg_cuda_device_count();

        [DllImport(Library, CallingConvention = CallingConvention.Cdecl)]
        public static extern ModelParams lseg_model_params_default();
        [DllImport(Library, CallingConvention = CallingConvention.Cdecl)]
        public static extern int lseg_create(ref ModelParams p, out ModelHandle model);
        [DllImport(Library, CallingConvention = CallingConvention.Cdecl)]
        public static extern void lseg_free(IntPtr model);
        [DllImport(Library, CallingConvention = CallingConvention.Cdecl)]
        public static extern UIntPtr lseg_model_embed_dim(ModelHandle model);

        [DllImport(Library, CallingConvention = CallingConvention.Cdecl)]
        public static extern int lseg_encode_labels(ModelHandle model, IntPtr[] labels, UIntPtr count, out LabelsHandle labelsOut);
        [DllImport(Library, CallingConvention = CallingConvention.Cdecl)]
        public static extern int lseg_encode_labels_ex(ModelHandle model, IntPtr[] labels, UIntPtr count, uint flags, out LabelsHandle labelsOut);
        [DllImport(Library, CallingConvention = CallingConvention.Cdecl)]
        public static extern void lseg_labels_free(IntPtr labels);
        [DllImport(Library, CallingConvention = CallingConvention.Cdecl)]
        public static extern UIntPtr lseg_labels_count(LabelsHandle labels);
        [DllImport(Library, CallingConvention = CallingConvention.Cdecl)]
        public static extern UIntPtr lseg_labels_dim(LabelsHandle labels);
        [DllImport(Library, CallingConvention = CallingConvention.Cdecl)]
        public static extern unsafe int lseg_labels_embeddings(LabelsHandle labels, float* output, UIntPtr outLen);

        [DllImport(Library, CallingConvention = CallingConvention.Cdecl)]
        public static extern SegmentParams lseg_segment_params_default();
        [DllImport(Library, CallingConvention = CallingConvention.Cdecl)]
        public static extern SegmentOutputs lseg_segment_outputs_default();
        [DllImport(Library, CallingConvention = CallingConvention.Cdecl)]
        public static extern int lseg_segment(ModelHandle model, LabelsHandle labels, ref Image image, ref SegmentParams p, ref SegmentOutputs outputs);
        [DllImport(Library, CallingConvention = CallingConvention.Cdecl)]
        public static extern unsafe int lseg_label_color(uint label, byte* rgb);

        [DllImport(Library, CallingConvention = CallingConvention.Cdecl)]
        public static extern EmbedParams lseg_embed_params_default();
        [DllImport(Library, CallingConvention = CallingConvention.Cdecl)]
        public static extern int lseg_embed_shape(ModelHandle model, uint width, uint height, ref EmbedParams p,
                                                  out UIntPtr dim, out UIntPtr outHeight, out UIntPtr outWidth, out UIntPtr bytes);
        [DllImport(Library, CallingConvention = CallingConvention.Cdecl)]
        public static extern int lseg_embed(ModelHandle model, ref Image image, ref EmbedParams p, IntPtr output, UIntPtr outSize);

        [DllImport(Library, CallingConvention = CallingConvention.Cdecl)]
        public static extern int lseg_image_load(byte[] pathUtf8, uint format, out Image image);
        [DllImport(Library, CallingConvention = CallingConvention.Cdecl)]
        public static extern void lseg_image_free(ref Image image);

        /// <summary>A static C string as a managed string (UTF-8).</summary>
        public static string Utf8(IntPtr s)
        {
            if (s == IntPtr.Zero) return "";
            int n = 0;
            while (Marshal.ReadByte(s, n) != 0) n++;
            var bytes = new byte[n];
            Marshal.Copy(s, bytes, 0, n);
            return System.Text.Encoding.UTF8.GetString(bytes);
        }
    }
}

#if !UNITY_5_3_OR_NEWER
namespace AOT
{
    /// <summary>IL2CPP's marker for static methods called from native code (UnityEngine defines
    /// it inside Unity; defined here for every other host).</summary>
    [AttributeUsage(AttributeTargets.Method)]
    public sealed class MonoPInvokeCallbackAttribute : Attribute
    {
        public MonoPInvokeCallbackAttribute(Type type) { DelegateType = type; }
        public Type DelegateType { get; private set; }
    }
}
#endif
