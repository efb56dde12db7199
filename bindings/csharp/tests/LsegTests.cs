// NUnit tests of the C# binding against the native library: struct layouts equal the C
// compiler's, outputs equal the C tests' reference files and direct C-API calls bit for bit,
// every error surfaces as an exception with its status and message, disposal, callbacks and
// cancellation, one model shared by 4 threads.
// Environment: LSEG_C_FIXTURES (bindings/c/tests/run.sh's fixtures), LSEG_CS_LAYOUT (the
// output of layout/layout.c).
using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Runtime.InteropServices;
using System.Threading;
using System.Threading.Tasks;
using Lseg;
using Lseg.Native;
using NUnit.Framework;

namespace Lseg.Tests
{
    [TestFixture]
    public class LsegTests
    {
        const int W = 100, H = 70;
        static readonly string[] Names = { "dog", "grass", "other", "a red car", "sky" };
        static string Fixtures { get { return Env("LSEG_C_FIXTURES"); } }
        static string Weights { get { return Path.Combine(Fixtures, "tiny_vit16.safetensors"); } }

        Model model;
        Labels labels;
        byte[] rgb;

        static string Env(string name)
        {
            var v = Environment.GetEnvironmentVariable(name);
            if (string.IsNullOrEmpty(v)) Assert.Fail(name + " is not set (run tests/run.sh)");
            return v;
        }

        static T[] Read<T>(string name) where T : struct
        {
            var bytes = File.ReadAllBytes(Path.Combine(Fixtures, name));
            var v = new T[bytes.Length / Marshal.SizeOf(typeof(T))];
            Buffer.BlockCopy(bytes, 0, v, 0, bytes.Length);
            return v;
        }

        static SegmentOptions Single() { return new SegmentOptions { Size = 96 }; }
        static SegmentOptions Multi()
        {
            return new SegmentOptions { Mode = Mode.MultiScale, BaseSize = 80, CropSize = 64, Scales = new[] { 0.75, 1.25 } };
        }

        [TestFixtureSetUp]
        public void Load()
        {
            model = Model.Load(Weights);
            labels = model.EncodeLabels(Names);
            rgb = File.ReadAllBytes(Path.Combine(Fixtures, "image_100x70.rgb"));
        }

        [TestFixtureTearDown]
        public void Free()
        {
            labels.Dispose();
            model.Dispose();
        }

        // --- The ABI -----------------------------------------------------------------------

        static string StructLine(Type t, string cname)
        {
            var fields = t.GetFields().Select(f => Marshal.OffsetOf(t, f.Name).ToInt64() + ":" + Marshal.SizeOf(f.FieldType));
            return "struct " + cname + " " + Marshal.SizeOf(t) + " " + string.Join(" ", fields);
        }

        static string EnumLine(Type t, string cname)
        {
            var values = Enum.GetValues(t).Cast<object>().Select(v => Convert.ToInt64(v).ToString());
            return "enum " + cname + " " + string.Join(" ", values);
        }

        [Test]
        public void StructLayoutsEnumsAndConstantsEqualTheCCompiler()
        {
            var c = File.ReadAllLines(Env("LSEG_CS_LAYOUT"));
            var cs = new[]
            {
                StructLine(typeof(ModelParams), "lseg_model_params"),
                StructLine(typeof(SegmentParams), "lseg_segment_params"),
                StructLine(typeof(SegmentOutputs), "lseg_segment_outputs"),
                StructLine(typeof(Native.Image), "lseg_image"),
                StructLine(typeof(EmbedParams), "lseg_embed_params"),
                EnumLine(typeof(Status), "lseg_status"),
                EnumLine(typeof(Backend), "lseg_backend"),
                EnumLine(typeof(DType), "lseg_dtype"),
                EnumLine(typeof(PixelFormat), "lseg_pixel_format"),
                EnumLine(typeof(Mode), "lseg_mode"),
                EnumLine(typeof(EmbedNorm), "lseg_embed_norm"),
                EnumLine(typeof(EmbedResolution), "lseg_embed_resolution"),
                EnumLine(typeof(Layout), "lseg_layout"),
                "const " + string.Join(" ", new object[] { NativeMethods.LSEG_ABI_VERSION, NativeMethods.LSEG_LABELS_TRUNCATE,
                    NativeMethods.LSEG_MAX_IMAGE_SIDE, NativeMethods.LSEG_MAX_LABELS, NativeMethods.LSEG_MAX_LABEL_BYTES,
                    NativeMethods.LSEG_MAX_SCALES, NativeMethods.LSEG_MAX_WEIGHTS_BYTES }),
            };
            Assert.AreEqual(c, cs);
            var mp = NativeMethods.lseg_model_params_default();
            Assert.AreEqual(Marshal.SizeOf(typeof(ModelParams)), (int)mp.StructSize);
            Assert.AreEqual(Marshal.SizeOf(typeof(SegmentParams)), (int)NativeMethods.lseg_segment_params_default().StructSize);
            Assert.AreEqual(Marshal.SizeOf(typeof(SegmentOutputs)), (int)NativeMethods.lseg_segment_outputs_default().StructSize);
            Assert.AreEqual(Marshal.SizeOf(typeof(EmbedParams)), (int)NativeMethods.lseg_embed_params_default().StructSize);
        }

        [Test]
        public void OptionDefaultsAreTheCDefaults()
        {
            var c = NativeMethods.lseg_segment_params_default();
            var s = new SegmentOptions();
            Assert.AreEqual(c.Mode, (uint)s.Mode);
            Assert.AreEqual(c.Size, s.Size);
            Assert.AreEqual(c.BaseSize, s.BaseSize);
            Assert.AreEqual(c.CropSize, s.CropSize);
            Assert.AreEqual(c.Flip, s.Flip ? 1u : 0u);
            var e = NativeMethods.lseg_embed_params_default();
            var eo = new EmbedOptions();
            Assert.AreEqual(new[] { e.Size, e.Norm, e.Resolution, e.Layout, e.DType },
                            new[] { eo.Size, (uint)eo.Norm, (uint)eo.Resolution, (uint)eo.Layout, 0u });
            var m = NativeMethods.lseg_model_params_default();
            var mo = new ModelOptions();
            Assert.AreEqual(new[] { m.Backend, m.DeviceIndex, m.DType, m.NThreads },
                            new[] { (uint)mo.Backend, mo.DeviceIndex, (uint)mo.DType, mo.Threads });
        }

        [Test]
        public void VersionStatusNamesColours()
        {
            Assert.AreEqual("0.1.0", Library.Version);
            Assert.AreEqual(NativeMethods.LSEG_ABI_VERSION, Library.AbiVersion);
            Assert.AreEqual("LSEG_ERR_BUFFER_TOO_SMALL", Library.StatusName(Status.BufferTooSmall));
            foreach (Status s in Enum.GetValues(typeof(Status)))
                StringAssert.StartsWith("LSEG_", Library.StatusName(s));
            Assert.IsTrue(Library.BackendIsCompiled(Backend.Default));
            var c0 = Library.LabelColor(0);
            Assert.AreEqual(3, c0.Length);
            Assert.AreNotEqual(c0, Library.LabelColor(1));
            Assert.Throws<ArgumentOutOfRangeException>(() => Library.LabelColor(-1));
        }

        // --- Parity ------------------------------------------------------------------------

        [Test]
        public void LabelEmbeddingsEqualTheReference()
        {
            Assert.AreEqual(5, labels.Count);
            Assert.AreEqual(512, labels.Dim);
            Assert.AreEqual(512, model.EmbedDim);
            Assert.AreEqual(Names, labels.Names.ToArray());
            Assert.AreEqual(Read<float>("ref_text.f32"), labels.Embeddings());
        }

        [Test]
        public void SegmentEqualsTheReferencesSingleAndMultiScale()
        {
            foreach (var c in new[] { Tuple.Create("single", Single()), Tuple.Create("ms", Multi()) })
            {
                var s = model.Segment(labels, rgb, W, H, PixelFormat.Rgb8, 0, c.Item2, Outputs.All);
                Assert.AreEqual(Read<ushort>("ref_" + c.Item1 + "_labels.u16"), s.LabelMap, c.Item1);
                Assert.AreEqual(Read<float>("ref_" + c.Item1 + "_scores.f32"), s.Scores, c.Item1);
                Assert.AreEqual(Read<float>("ref_" + c.Item1 + "_conf.f32"), s.Confidence, c.Item1);
                Assert.AreEqual(new[] { W, H, 5 }, new[] { s.Width, s.Height, s.LabelCount });
            }
        }

        [Test]
        public unsafe void FriendlyLayerEqualsDirectCApiCalls()
        {
            var map = new ushort[W * H];
            var conf = new float[W * H];
            var p = NativeMethods.lseg_segment_params_default();
            p.Size = 96;
            fixed (byte* px = rgb)
            fixed (ushort* mp = map)
            fixed (float* cp = conf)
            {
                var img = new Native.Image { Data = (IntPtr)px, Width = W, Height = H, Format = (uint)PixelFormat.Rgb8 };
                var o = NativeMethods.lseg_segment_outputs_default();
                o.LabelMap = (IntPtr)mp;
                o.LabelMapLen = (UIntPtr)(uint)map.Length;
                o.Confidence = (IntPtr)cp;
                o.ConfidenceLen = (UIntPtr)(uint)conf.Length;
                Assert.AreEqual(0, NativeMethods.lseg_segment(ModelHandleOf(model), LabelsHandleOf(labels), ref img, ref p, ref o));
            }
            var s = model.Segment(labels, rgb, W, H, PixelFormat.Rgb8, 0, Single(), Outputs.LabelMap | Outputs.Confidence);
            Assert.AreEqual(map, s.LabelMap);
            Assert.AreEqual(conf, s.Confidence);
            Assert.IsNull(s.Scores);
        }

        static ModelHandle ModelHandleOf(Model m)
        {
            return (ModelHandle)typeof(Model).GetField("handle", System.Reflection.BindingFlags.NonPublic | System.Reflection.BindingFlags.Instance).GetValue(m);
        }

        static LabelsHandle LabelsHandleOf(Labels l)
        {
            return (LabelsHandle)typeof(Labels).GetField("handle", System.Reflection.BindingFlags.NonPublic | System.Reflection.BindingFlags.Instance).GetValue(l);
        }

        static byte[] ToFormat(byte[] rgb, PixelFormat f, int pad)
        {
            int ch = f == PixelFormat.Gray8 ? 1 : (f == PixelFormat.Rgb8 || f == PixelFormat.Bgr8) ? 3 : 4;
            int stride = W * ch + pad;
            var o = new byte[stride * H];
            for (int y = 0; y < H; y++)
                for (int x = 0; x < W; x++)
                {
                    int i = (y * W + x) * 3, j = y * stride + x * ch;
                    byte r = rgb[i], g = rgb[i + 1], b = rgb[i + 2];
                    switch (f)
                    {
                        case PixelFormat.Rgb8: o[j] = r; o[j + 1] = g; o[j + 2] = b; break;
                        case PixelFormat.Bgr8: o[j] = b; o[j + 1] = g; o[j + 2] = r; break;
                        case PixelFormat.Rgba8: o[j] = r; o[j + 1] = g; o[j + 2] = b; o[j + 3] = 99; break;
                        case PixelFormat.Bgra8: o[j] = b; o[j + 1] = g; o[j + 2] = r; o[j + 3] = 99; break;
                        case PixelFormat.Gray8: o[j] = g; break;
                    }
                }
            return o;
        }

        [Test]
        public unsafe void EveryPixelFormatStrideSpanPointerAndCallerArrays()
        {
            var want = model.Segment(labels, rgb, W, H, PixelFormat.Rgb8, 0, Single()).LabelMap;
            foreach (var f in new[] { PixelFormat.Bgr8, PixelFormat.Rgba8, PixelFormat.Bgra8 })
                foreach (var pad in new[] { 0, 7 })
                {
                    int ch = f == PixelFormat.Bgr8 ? 3 : 4;
                    var px = ToFormat(rgb, f, pad);
                    Assert.AreEqual(want, model.Segment(labels, px, W, H, f, pad == 0 ? 0 : W * ch + pad, Single()).LabelMap, f + " pad " + pad);
                }
            // Gray equals RGB with the grey value in every channel.
            var gray = ToFormat(rgb, PixelFormat.Gray8, 0);
            var grey3 = gray.SelectMany(v => new[] { v, v, v }).ToArray();
            Assert.AreEqual(model.Segment(labels, grey3, W, H, PixelFormat.Rgb8, 0, Single()).LabelMap,
                            model.Segment(labels, gray, W, H, PixelFormat.Gray8, 0, Single()).LabelMap);
            // Span, pointer and caller arrays give the same.
            var span = new ReadOnlySpan<byte>(rgb);
            Assert.AreEqual(want, model.Segment(labels, span, W, H, PixelFormat.Rgb8, 0, Single()).LabelMap);
            fixed (byte* p = rgb)
                Assert.AreEqual(want, model.Segment(labels, (IntPtr)p, W, H, PixelFormat.Rgb8, 0, Single()).LabelMap);
            var into = new ushort[W * H];
            var scores = new float[5 * W * H];
            model.SegmentInto(labels, rgb, W, H, PixelFormat.Rgb8, 0, Single(), into, scores);
            Assert.AreEqual(want, into);
            Assert.AreEqual(Read<float>("ref_single_scores.f32"), scores);
        }

        [Test]
        public void EmbeddingsEqualTheReferences()
        {
            var e = model.Embed(rgb, W, H, PixelFormat.Rgb8, 0, new EmbedOptions { Size = 64 });
            Assert.AreEqual(new[] { 512, 23, 32 }, new[] { e.Dim, e.Height, e.Width });
            Assert.AreEqual(Read<float>("ref_embed_l2_native.f32"), e.Data);
            var raw = model.Embed(rgb, W, H, PixelFormat.Rgb8, 0,
                                  new EmbedOptions { Size = 64, Norm = EmbedNorm.Raw, Resolution = EmbedResolution.Input });
            Assert.AreEqual(Read<float>("ref_embed_raw_input.f32"), raw.Data);
            var hwc = model.Embed(rgb, W, H, PixelFormat.Rgb8, 0, new EmbedOptions { Size = 64, Layout = Layout.Hwc });
            Assert.AreEqual(e.Data[1 * 23 * 32 + 2 * 32 + 3], hwc.Data[(2 * 32 + 3) * 512 + 1]);  // (c=1, y=2, x=3)
        }

        [Test]
        public void ModelFromBytesEqualsModelFromFile()
        {
            using (var m = Model.FromBytes(File.ReadAllBytes(Weights)))
            using (var l = m.EncodeLabels(Names))
                Assert.AreEqual(Read<ushort>("ref_single_labels.u16"), m.Segment(l, rgb, W, H, PixelFormat.Rgb8, 0, Single()).LabelMap);
        }

        // --- Errors ------------------------------------------------------------------------

        static void Fails(Status status, string text, TestDelegate call)
        {
            var e = Assert.Throws<LsegException>(call);
            Assert.AreEqual(status, e.Status, e.Message);
            Assert.AreEqual(Library.StatusName(status), e.StatusName);
            Assert.IsNotEmpty(e.Message);
            StringAssert.Contains(text, e.Message);
        }

        [Test]
        public void LibraryErrorsAreLsegExceptionsWithStatusAndMessage()
        {
            Fails(Status.Io, "/no/such.safetensors", () => Model.Load("/no/such.safetensors"));
            var junk = Enumerable.Repeat((byte)7, 100).ToArray();
            Fails(Status.InvalidWeights, "", () => Model.FromBytes(junk));
            Fails(Status.BackendUnavailable, "", () => Model.Load(Weights, new ModelOptions { Backend = Backend.TchCuda, DeviceIndex = 7 }));
            Fails(Status.InvalidArgument, "", () => Model.Load(Weights, new ModelOptions { Backend = (Backend)99 }));
            Fails(Status.Config, "", () => Model.Load(Weights, new ModelOptions { ConfigJson = "{not json" }));
            Fails(Status.Label, "empty", () => model.EncodeLabels(new string[0]));
            Fails(Status.Label, "", () => model.EncodeLabels("dog", ""));
            Fails(Status.Label, "77", () => model.EncodeLabels(string.Join(" ", Enumerable.Repeat("word", 100))));
            Fails(Status.Label, "4097 bytes", () => model.EncodeLabels(new string('a', (int)NativeMethods.LSEG_MAX_LABEL_BYTES + 1)));
            using (var t = model.EncodeLabels(new[] { string.Join(" ", Enumerable.Repeat("word", 100)) }, true))
                Assert.AreEqual(1, t.Count);
            Fails(Status.InvalidArgument, "stride", () => model.Segment(labels, rgb, W, H, PixelFormat.Rgb8, 10, Single()));
            Fails(Status.InvalidArgument, "", () => model.Segment(labels, rgb, W, H, (PixelFormat)9, 0, Single()));
            Fails(Status.InvalidArgument, "", () => model.Segment(labels, rgb, W, H, PixelFormat.Rgb8, 0, new SegmentOptions { Size = 100000 }));
            Fails(Status.InvalidArgument, "", () => model.Segment(labels, rgb, W, H, PixelFormat.Rgb8, 0, new SegmentOptions { Mode = Mode.MultiScale, CropSize = 50 }));
            Fails(Status.BufferTooSmall, "", () => model.SegmentInto(labels, rgb, W, H, PixelFormat.Rgb8, 0, Single(), new ushort[10]));
            Fails(Status.InvalidArgument, "", () => model.SegmentInto(labels, rgb, W, H, PixelFormat.Rgb8, 0, Single(), null));
            // What the binding checks itself: idiomatic .NET argument exceptions.
            Assert.Throws<ArgumentNullException>(() => Model.Load(null));
            Assert.Throws<ArgumentNullException>(() => model.EncodeLabels("dog", null));
            Assert.Throws<ArgumentException>(() => model.EncodeLabels("do\0g"));
            Assert.Throws<ArgumentException>(() => model.Segment(labels, new byte[10], W, H, PixelFormat.Rgb8));
            Assert.Throws<ArgumentOutOfRangeException>(() => model.Segment(labels, rgb, 0, H, PixelFormat.Rgb8));
            Assert.Throws<ArgumentOutOfRangeException>(() => model.Segment(labels, rgb, W, H, PixelFormat.Rgb8, -1));
            Assert.Throws<ArgumentNullException>(() => model.Segment(null, rgb, W, H, PixelFormat.Rgb8));
            // The model still works.
            Assert.AreEqual(Read<ushort>("ref_single_labels.u16"), model.Segment(labels, rgb, W, H, PixelFormat.Rgb8, 0, Single()).LabelMap);
        }

        [Test]
        public void DisposalAndDoubleDisposal()
        {
            var m = Model.Load(Weights);
            var l = m.EncodeLabels("a", "b");
            m.Dispose();
            m.Dispose();
            Assert.IsTrue(m.IsDisposed);
            Assert.Throws<ObjectDisposedException>(() => m.EncodeLabels("x"));
            Assert.Throws<ObjectDisposedException>(() => m.Segment(l, rgb, W, H, PixelFormat.Rgb8));
            Assert.Throws<ObjectDisposedException>(() => { var _ = m.EmbedDim; });
            Assert.AreEqual(2, l.Count);  // a label set outlives its model
            l.Dispose();
            l.Dispose();
            Assert.Throws<ObjectDisposedException>(() => model.Segment(l, rgb, W, H, PixelFormat.Rgb8));
            Assert.Throws<ObjectDisposedException>(() => l.Embeddings());
        }

        // --- Callbacks, cancellation, threads ----------------------------------------------

        [Test]
        public void ProgressReportsEveryPassAndCancels()
        {
            var seen = new List<int>();
            int total = 0;
            model.Segment(labels, rgb, W, H, PixelFormat.Rgb8, 0, Multi(), Outputs.LabelMap, (d, t) => { seen.Add(d); total = t; return true; });
            Assert.Greater(seen.Count, 1);
            for (int i = 1; i < seen.Count; i++) Assert.Greater(seen[i], seen[i - 1]);  // increasing
            Assert.AreEqual(total, seen.Last());
            int calls = 0;
            var untouched = Enumerable.Repeat((ushort)0xffff, W * H).ToArray();
            var map = (ushort[])untouched.Clone();
            Fails(Status.Cancelled, "", () => model.SegmentInto(labels, rgb, W, H, PixelFormat.Rgb8, 0, Multi(), map, null, null, (d, t) => { calls++; return false; }));
            Assert.AreEqual(1, calls);
            Assert.AreEqual(untouched, map);  // nothing written
            var boom = Assert.Throws<InvalidOperationException>(() =>
                model.Segment(labels, rgb, W, H, PixelFormat.Rgb8, 0, Multi(), Outputs.LabelMap, (d, t) => { throw new InvalidOperationException("boom"); }));
            Assert.AreEqual("boom", boom.Message);
            Assert.AreEqual(Read<ushort>("ref_ms_labels.u16"), model.Segment(labels, rgb, W, H, PixelFormat.Rgb8, 0, Multi()).LabelMap);
        }

        [Test]
        public void SegmentAsyncEqualsSyncAndCancelsThroughTheToken()
        {
            var s = model.SegmentAsync(labels, rgb, W, H, PixelFormat.Rgb8, 0, Multi(), Outputs.All).Result;
            Assert.AreEqual(Read<float>("ref_ms_scores.f32"), s.Scores);
            using (var cts = new CancellationTokenSource())
            {
                var started = new ManualResetEventSlim();
                var task = model.SegmentAsync(labels, rgb, W, H, PixelFormat.Rgb8, 0, Multi(), Outputs.LabelMap, cts.Token,
                                              (d, t) => { started.Set(); Thread.Sleep(50); return true; });
                Assert.IsTrue(started.Wait(30000));
                cts.Cancel();
                var e = Assert.Throws<AggregateException>(() => task.Wait());
                Assert.IsInstanceOf<OperationCanceledException>(e.InnerException);
                Assert.IsTrue(task.IsCanceled);
            }
            using (var cts = new CancellationTokenSource())
            {
                cts.Cancel();
                var task = model.SegmentAsync(labels, rgb, W, H, PixelFormat.Rgb8, 0, Single(), Outputs.LabelMap, cts.Token);
                Assert.Throws<AggregateException>(() => task.Wait());
                Assert.IsTrue(task.IsCanceled);
            }
        }

        [Test]
        public void FourThreadsShareOneModel()
        {
            var want = Read<ushort>("ref_single_labels.u16");
            var failures = new List<string>();
            var threads = Enumerable.Range(0, 4).Select(i => new Thread(() =>
            {
                try
                {
                    for (int k = 0; k < 3; k++)
                    {
                        using (var l = model.EncodeLabels(Names))
                        {
                            var got = model.Segment(l, rgb, W, H, PixelFormat.Rgb8, 0, Single()).LabelMap;
                            if (!got.SequenceEqual(want)) lock (failures) failures.Add("thread " + i + " differs");
                        }
                        try { model.EncodeLabels(""); }
                        catch (LsegException e) { if (e.Status != Status.Label) lock (failures) failures.Add(e.Message); }
                    }
                }
                catch (Exception e) { lock (failures) failures.Add(e.ToString()); }
            })).ToList();
            threads.ForEach(t => t.Start());
            threads.ForEach(t => t.Join());
            Assert.IsEmpty(failures);
        }
    }
}
