// Unity helpers over the engine-independent binding (Runtime/Lseg = bindings/csharp/src/Lseg):
// textures in (read in place, no copy), label maps and colours out.
using System;
using Unity.Collections;
using Unity.Collections.LowLevel.Unsafe;
using UnityEngine;

namespace Lseg.Unity
{
    /// <summary>Textures in and out of lseg. Unity's texture rows run bottom-up; lseg reads
    /// them as they are, so row 0 of a label map is the texture's bottom row and the textures
    /// made from it display the right way up.</summary>
    public static class LsegTextures
    {
        /// <summary>The lseg pixel format of a texture format read in place (RGBA32, BGRA32,
        /// RGB24, R8, Alpha8).</summary>
        public static PixelFormat PixelFormatOf(TextureFormat format)
        {
            switch (format)
            {
                case TextureFormat.RGBA32: return PixelFormat.Rgba8;
                case TextureFormat.BGRA32: return PixelFormat.Bgra8;
                case TextureFormat.RGB24: return PixelFormat.Rgb8;
                case TextureFormat.R8:
                case TextureFormat.Alpha8: return PixelFormat.Gray8;
                default:
                    throw new ArgumentException("texture format " + format + " is not RGBA32, BGRA32, RGB24, R8 or Alpha8", "format");
            }
        }

        /// <summary>Segment a CPU-readable texture in place: its pixel buffer
        /// (GetRawTextureData, no allocation) is passed to lseg for the duration of the call.
        /// Main thread only (Unity's texture API); use <c>Model.SegmentAsync</c>
        /// with a copied frame to stay off the main thread.</summary>
        public static unsafe Segmentation Segment(this Model model, Labels labels, Texture2D texture,
                                                  SegmentOptions options = null, Outputs outputs = Outputs.LabelMap)
        {
            if (texture == null) throw new ArgumentNullException("texture");
            if (!texture.isReadable) throw new ArgumentException("texture is not CPU-readable (enable Read/Write)", "texture");
            var format = PixelFormatOf(texture.format);
            NativeArray<byte> raw = texture.GetRawTextureData<byte>();  // mip 0 first
            int ch = format == PixelFormat.Gray8 ? 1 : format == PixelFormat.Rgb8 ? 3 : 4;
            if (raw.Length < texture.width * texture.height * ch)
                throw new ArgumentException("texture data is smaller than its size says", "texture");
            var p = (IntPtr)NativeArrayUnsafeUtility.GetUnsafeReadOnlyPtr(raw);
            return model.Segment(labels, p, texture.width, texture.height, format, 0, options, outputs);
        }

        /// <summary>lseg's colours of labels 0..count-1 (the CLI's and the ROS nodes'), opaque.</summary>
        public static Color32[] Palette(int count)
        {
            var p = new Color32[count];
            for (int i = 0; i < count; i++)
            {
                var c = Library.LabelColor(i);
                p[i] = new Color32(c[0], c[1], c[2], 255);
            }
            return p;
        }

        /// <summary>The label map as an R16 texture (one label index per texel, linear; sampled
        /// values are index / 65535). Reuses <paramref name="reuse"/> when it has the size.</summary>
        public static Texture2D LabelMapTexture(Segmentation s, Texture2D reuse = null)
        {
            if (s == null || s.LabelMap == null) throw new ArgumentException("the segmentation has no label map", "s");
            var tex = Reusable(reuse, s.Width, s.Height, TextureFormat.R16);
            tex.SetPixelData(s.LabelMap, 0);
            tex.Apply(false);
            return tex;
        }

        /// <summary>The label map in colours (RGBA32, alpha <paramref name="alpha"/>: draw it over
        /// the camera image for an overlay).</summary>
        public static Texture2D ColorTexture(Segmentation s, Color32[] palette, byte alpha = 255, Texture2D reuse = null)
        {
            if (s == null || s.LabelMap == null) throw new ArgumentException("the segmentation has no label map", "s");
            if (palette == null || palette.Length < s.LabelCount) palette = Palette(s.LabelCount);
            var px = new Color32[s.LabelMap.Length];
            for (int i = 0; i < px.Length; i++)
            {
                var c = palette[s.LabelMap[i]];
                px[i] = new Color32(c.r, c.g, c.b, alpha);
            }
            var tex = Reusable(reuse, s.Width, s.Height, TextureFormat.RGBA32);
            tex.SetPixelData(px, 0);
            tex.Apply(false);
            return tex;
        }

        static Texture2D Reusable(Texture2D t, int w, int h, TextureFormat f)
        {
            if (t != null && t.width == w && t.height == h && t.format == f) return t;
            return new Texture2D(w, h, f, false, true);
        }
    }
}
