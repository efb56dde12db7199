// Model: a loaded LSeg model. Thread-safe: share one instance between threads; every call
// reads the thread-local error of its own thread right after the native call.
using System;
using System.Collections.Generic;
using System.Runtime.InteropServices;
using System.Text;
using System.Threading;
using System.Threading.Tasks;
using Lseg.Native;

namespace Lseg
{
    /// <summary>A loaded LSeg model: encode labels once, segment and embed any number of frames.</summary>
    public sealed class Model : IDisposable
    {
        readonly ModelHandle handle;

        Model(ModelHandle handle) { this.handle = handle; }

        /// <summary>Load a `.safetensors` file.</summary>
        public static Model Load(string path, ModelOptions options = null)
        {
            if (path == null) throw new ArgumentNullException("path");
            return Create(options, Utf8z(path, "path"), null);
        }

        /// <summary>Load weights from memory (only read during the call).</summary>
        public static Model FromBytes(byte[] weights, ModelOptions options = null)
        {
            if (weights == null) throw new ArgumentNullException("weights");
            return Create(options, null, weights);
        }

        static unsafe Model Create(ModelOptions o, byte[] path, byte[] data)
        {
            o = o ?? new ModelOptions();
            var p = NativeMethods.lseg_model_params_default();
            p.Backend = (uint)o.Backend;
            p.DeviceIndex = o.DeviceIndex;
            p.DType = (uint)o.DType;
            p.NThreads = o.Threads;
            byte[] config = o.ConfigJson == null ? null : Utf8z(o.ConfigJson, "ConfigJson");
            fixed (byte* pp = path)
            fixed (byte* dp = data)
            fixed (byte* cp = config)
            {
                p.WeightsPath = (IntPtr)pp;
                p.WeightsData = (IntPtr)dp;
                p.WeightsSize = (UIntPtr)(uint)(data == null ? 0 : data.Length);
                p.ConfigJson = (IntPtr)cp;
                ModelHandle h;
                int s = NativeMethods.lseg_create(ref p, out h);
                if (s != 0)
                {
                    h.SetHandleAsInvalid();
                    Library.Check(s);
                }
                return new Model(h);
            }
        }

        /// <summary>Pixel-embedding dimension (512 for the released weights).</summary>
        public int EmbedDim { get { return (int)NativeMethods.lseg_model_embed_dim(Handle).ToUInt64(); } }

        /// <summary>Encode labels (each at most 77 CLIP tokens).</summary>
        public Labels EncodeLabels(params string[] labels) { return EncodeLabels(labels, false); }

        /// <summary>Encode labels; <paramref name="truncate"/> cuts labels over 77 tokens instead of failing.</summary>
        public Labels EncodeLabels(IList<string> labels, bool truncate)
        {
            if (labels == null) throw new ArgumentNullException("labels");
            var h = Handle;
            var ptrs = new IntPtr[labels.Count];
            try
            {
                for (int i = 0; i < ptrs.Length; i++)
                {
                    if (labels[i] == null) throw new ArgumentNullException("labels", "label " + i + " is null");
                    byte[] b = Utf8z(labels[i], "labels");
                    ptrs[i] = Marshal.AllocHGlobal(b.Length);
                    Marshal.Copy(b, 0, ptrs[i], b.Length);
                }
                LabelsHandle lh;
                int s = NativeMethods.lseg_encode_labels_ex(h, ptrs, (UIntPtr)(uint)ptrs.Length,
                                                           truncate ? NativeMethods.LSEG_LABELS_TRUNCATE : 0u, out lh);
                if (s != 0)
                {
                    lh.SetHandleAsInvalid();
                    Library.Check(s);
                }
                return new Labels(lh, labels);
            }
            finally
            {
                foreach (var p in ptrs)
                    if (p != IntPtr.Zero) Marshal.FreeHGlobal(p);
            }
        }

        // --- Segment: new arrays -------------------------------------------------------------

        /// <summary>Segment a frame held in an array (e.g. Unity's RGBA32 bytes).</summary>
        public Segmentation Segment(Labels labels, byte[] pixels, int width, int height, PixelFormat format,
                                    int stride = 0, SegmentOptions options = null, Outputs outputs = Outputs.LabelMap,
                                    Func<int, int, bool> progress = null)
        {
            if (pixels == null) throw new ArgumentNullException("pixels");
            return Segment(labels, new ReadOnlySpan<byte>(pixels), width, height, format, stride, options, outputs, progress);
        }

        /// <summary>Segment a frame in any memory (checked against its length).</summary>
        public unsafe Segmentation Segment(Labels labels, ReadOnlySpan<byte> pixels, int width, int height, PixelFormat format,
                                           int stride = 0, SegmentOptions options = null, Outputs outputs = Outputs.LabelMap,
                                           Func<int, int, bool> progress = null)
        {
            CheckLength(pixels.Length, width, height, format, stride);
            fixed (byte* p = &MemoryMarshal.GetReference(pixels))
                return SegmentNew(labels, p, width, height, format, stride, options, outputs, progress, CancellationToken.None);
        }

        /// <summary>Segment a frame at a native pointer: at least `stride * (height - 1) + width * channels`
        /// readable bytes (not checked), valid for the duration of the call.</summary>
        public unsafe Segmentation Segment(Labels labels, IntPtr pixels, int width, int height, PixelFormat format,
                                           int stride = 0, SegmentOptions options = null, Outputs outputs = Outputs.LabelMap,
                                           Func<int, int, bool> progress = null)
        {
            return SegmentNew(labels, (byte*)pixels, width, height, format, stride, options, outputs, progress, CancellationToken.None);
        }

        // --- Segment: caller arrays ----------------------------------------------------------

        /// <summary>Segment into caller arrays (null = not wanted; at least one): `labelMap` and
        /// `confidence` hold `width * height`, `scores` `labels.Count * width * height` elements.</summary>
        public unsafe void SegmentInto(Labels labels, ReadOnlySpan<byte> pixels, int width, int height, PixelFormat format,
                                       int stride, SegmentOptions options, ushort[] labelMap, float[] scores = null,
                                       float[] confidence = null, Func<int, int, bool> progress = null)
        {
            CheckLength(pixels.Length, width, height, format, stride);
            fixed (byte* p = &MemoryMarshal.GetReference(pixels))
                Run(labels, p, width, height, format, stride, options, labelMap, scores, confidence, progress, CancellationToken.None);
        }

        /// <summary><c>SegmentInto</c> at a native pointer (length not checked).</summary>
        public unsafe void SegmentInto(Labels labels, IntPtr pixels, int width, int height, PixelFormat format,
                                       int stride, SegmentOptions options, ushort[] labelMap, float[] scores = null,
                                       float[] confidence = null, Func<int, int, bool> progress = null)
        {
            Run(labels, (byte*)pixels, width, height, format, stride, options, labelMap, scores, confidence, progress, CancellationToken.None);
        }

        // --- Segment: asynchronous -----------------------------------------------------------

        /// <summary>Segment on the thread pool; cancelling the token aborts the native call
        /// (between network passes) and the task ends as cancelled.</summary>
        public Task<Segmentation> SegmentAsync(Labels labels, byte[] pixels, int width, int height, PixelFormat format,
                                               int stride = 0, SegmentOptions options = null, Outputs outputs = Outputs.LabelMap,
                                               CancellationToken cancellationToken = default(CancellationToken),
                                               Func<int, int, bool> progress = null)
        {
            if (pixels == null) throw new ArgumentNullException("pixels");
            CheckLength(pixels.Length, width, height, format, stride);
            return Task.Run(() => SegmentPinned(labels, pixels, width, height, format, stride, options, outputs, progress, cancellationToken),
                            cancellationToken);
        }

        /// <summary><c>SegmentAsync</c>
        /// at a native pointer, which must stay valid until the task completes.</summary>
        public Task<Segmentation> SegmentAsync(Labels labels, IntPtr pixels, int width, int height, PixelFormat format,
                                               int stride = 0, SegmentOptions options = null, Outputs outputs = Outputs.LabelMap,
                                               CancellationToken cancellationToken = default(CancellationToken),
                                               Func<int, int, bool> progress = null)
        {
            return Task.Run(() => SegmentAt(labels, pixels, width, height, format, stride, options, outputs, progress, cancellationToken),
                            cancellationToken);
        }

        unsafe Segmentation SegmentPinned(Labels labels, byte[] pixels, int width, int height, PixelFormat format, int stride,
                                          SegmentOptions options, Outputs outputs, Func<int, int, bool> progress, CancellationToken ct)
        {
            fixed (byte* p = pixels)
                return SegmentNew(labels, p, width, height, format, stride, options, outputs, progress, ct);
        }

        unsafe Segmentation SegmentAt(Labels labels, IntPtr pixels, int width, int height, PixelFormat format, int stride,
                                      SegmentOptions options, Outputs outputs, Func<int, int, bool> progress, CancellationToken ct)
        {
            return SegmentNew(labels, (byte*)pixels, width, height, format, stride, options, outputs, progress, ct);
        }

        // --- Embed ---------------------------------------------------------------------------

        /// <summary>Dense pixel embeddings of a frame (f32).</summary>
        public unsafe Embedding Embed(ReadOnlySpan<byte> pixels, int width, int height, PixelFormat format, int stride = 0,
                                      EmbedOptions options = null)
        {
            CheckLength(pixels.Length, width, height, format, stride);
            fixed (byte* p = &MemoryMarshal.GetReference(pixels))
                return EmbedAt((IntPtr)p, width, height, format, stride, options);
        }

        /// <summary><c>Embed</c> of an array.</summary>
        public Embedding Embed(byte[] pixels, int width, int height, PixelFormat format, int stride = 0, EmbedOptions options = null)
        {
            if (pixels == null) throw new ArgumentNullException("pixels");
            return Embed(new ReadOnlySpan<byte>(pixels), width, height, format, stride, options);
        }

        /// <summary><c>Embed</c> at a native pointer.</summary>
        public unsafe Embedding EmbedAt(IntPtr pixels, int width, int height, PixelFormat format, int stride = 0, EmbedOptions options = null)
        {
            var h = Handle;
            var o = options ?? new EmbedOptions();
            var p = NativeMethods.lseg_embed_params_default();
            p.Size = o.Size;
            p.Norm = (uint)o.Norm;
            p.Resolution = (uint)o.Resolution;
            p.Layout = (uint)o.Layout;
            UIntPtr dim, eh, ew, bytes;
            Library.Check(NativeMethods.lseg_embed_shape(h, Side(width, "width"), Side(height, "height"), ref p,
                                                         out dim, out eh, out ew, out bytes));
            var data = new float[(long)bytes.ToUInt64() / 4];
            var img = Image(pixels, width, height, format, stride);
            fixed (float* d = data)
                Library.Check(NativeMethods.lseg_embed(h, ref img, ref p, (IntPtr)d, bytes));
            return new Embedding((int)dim.ToUInt64(), (int)eh.ToUInt64(), (int)ew.ToUInt64(), o.Layout, data);
        }

        // --- Lifetime ------------------------------------------------------------------------

        /// <summary>Whether <see cref="Dispose"/> was called.</summary>
        public bool IsDisposed { get { return handle.IsClosed; } }

        /// <summary>Free the native model (calls running on other threads finish first; label
        /// sets stay valid). Idempotent.</summary>
        public void Dispose() { handle.Dispose(); }

        ModelHandle Handle
        {
            get
            {
                if (handle.IsClosed) throw new ObjectDisposedException("Model");
                return handle;
            }
        }

        // --- The one native segment call ------------------------------------------------------

        unsafe Segmentation SegmentNew(Labels labels, byte* pixels, int width, int height, PixelFormat format, int stride,
                                       SegmentOptions options, Outputs outputs, Func<int, int, bool> progress, CancellationToken ct)
        {
            if (labels == null) throw new ArgumentNullException("labels");
            if ((outputs & Outputs.All) == 0) throw new ArgumentException("no output requested", "outputs");
            long hw = (long)Side(width, "width") * Side(height, "height");
            int n = labels.Count;
            var map = (outputs & Outputs.LabelMap) != 0 ? new ushort[hw] : null;
            var scores = (outputs & Outputs.Scores) != 0 ? new float[n * hw] : null;
            var conf = (outputs & Outputs.Confidence) != 0 ? new float[hw] : null;
            Run(labels, pixels, width, height, format, stride, options, map, scores, conf, progress, ct);
            return new Segmentation(width, height, n, map, scores, conf);
        }

        unsafe void Run(Labels labels, byte* pixels, int width, int height, PixelFormat format, int stride,
                        SegmentOptions options, ushort[] map, float[] scores, float[] conf,
                        Func<int, int, bool> progress, CancellationToken ct)
        {
            if (labels == null) throw new ArgumentNullException("labels");
            var h = Handle;
            var lh = labels.Handle;
            var o = options ?? new SegmentOptions();
            var p = NativeMethods.lseg_segment_params_default();
            p.Mode = (uint)o.Mode;
            p.Size = o.Size;
            p.BaseSize = o.BaseSize;
            p.CropSize = o.CropSize;
            p.Flip = o.Flip ? 1u : 0u;
            double[] scales = o.Scales == null ? null : new List<double>(o.Scales).ToArray();
            var img = Image((IntPtr)pixels, width, height, format, stride);
            var outs = NativeMethods.lseg_segment_outputs_default();
            fixed (double* sp = scales)
            fixed (ushort* mp = map)
            fixed (float* scp = scores)
            fixed (float* cp = conf)
            {
                p.Scales = (IntPtr)sp;
                p.NScales = (UIntPtr)(uint)(scales == null ? 0 : scales.Length);
                outs.LabelMap = (IntPtr)mp;
                outs.LabelMapLen = (UIntPtr)(uint)(map == null ? 0 : map.Length);
                outs.Scores = (IntPtr)scp;
                outs.ScoresLen = (UIntPtr)(uint)(scores == null ? 0 : scores.Length);
                outs.Confidence = (IntPtr)cp;
                outs.ConfidenceLen = (UIntPtr)(uint)(conf == null ? 0 : conf.Length);
                if (!ProgressState.Needed(progress, ct))
                {
                    Library.Check(NativeMethods.lseg_segment(h, lh, ref img, ref p, ref outs));
                    return;
                }
                using (var state = new ProgressState(progress, ct))
                {
                    p.Progress = ProgressState.TrampolinePtr;
                    p.UserData = state.UserData;
                    state.Finish(NativeMethods.lseg_segment(h, lh, ref img, ref p, ref outs));
                }
            }
        }

        // --- Arguments -------------------------------------------------------------------------

        static Native.Image Image(IntPtr data, int width, int height, PixelFormat format, int stride)
        {
            if (stride < 0) throw new ArgumentOutOfRangeException("stride", "stride is negative");
            return new Native.Image
            {
                Data = data,
                Width = (uint)Math.Max(width, 0),
                Height = (uint)Math.Max(height, 0),
                Stride = (UIntPtr)(uint)stride,
                Format = (uint)format,
            };
        }

        /// <summary>An image side for an allocation: 1..LSEG_MAX_IMAGE_SIDE.</summary>
        static uint Side(int v, string name)
        {
            if (v < 1 || v > NativeMethods.LSEG_MAX_IMAGE_SIDE)
                throw new ArgumentOutOfRangeException(name, v, name + " must be 1.." + NativeMethods.LSEG_MAX_IMAGE_SIDE);
            return (uint)v;
        }

        /// <summary>A managed buffer must hold what the descriptor reads (sizes and strides
        /// themselves are the library's to check).</summary>
        static void CheckLength(int length, int width, int height, PixelFormat format, int stride)
        {
            if (width < 1 || height < 1 || stride < 0 || !Enum.IsDefined(typeof(PixelFormat), format)) return;
            int ch = format == PixelFormat.Gray8 ? 1 : (format == PixelFormat.Rgb8 || format == PixelFormat.Bgr8) ? 3 : 4;
            long row = (long)width * ch;
            long s = stride == 0 ? row : stride;
            if (s < row) return;  // the library reports it
            long need = s * (height - 1) + row;
            if (length < need)
                throw new ArgumentException(string.Format(
                    "pixel buffer holds {0} bytes, a {1}x{2} {3} image with stride {4} needs {5}",
                    length, width, height, format, s, need), "pixels");
        }

        static byte[] Utf8z(string s, string what)
        {
            if (s.IndexOf('\0') >= 0) throw new ArgumentException(what + " contains a NUL character", what);
            var b = new byte[Encoding.UTF8.GetByteCount(s) + 1];
            Encoding.UTF8.GetBytes(s, 0, s.Length, b, 0);
            return b;
        }
    }
}
