// COMPILE-ONLY STUB of the few UnityEngine types the Unity layer (bindings/unity) uses, so CI
// compiles it without Unity. Not an implementation: every member throws. Signatures follow
// the Unity 2021.3+ scripting API.
#pragma warning disable 1591
using System;

namespace UnityEngine
{
    public enum TextureFormat { Alpha8 = 1, RGB24 = 3, RGBA32 = 4, ARGB32 = 5, R16 = 9, BGRA32 = 14, R8 = 63 }

    public struct Color32
    {
        public byte r, g, b, a;
        public Color32(byte r, byte g, byte b, byte a) { this.r = r; this.g = g; this.b = b; this.a = a; }
    }

    public struct Rect
    {
        public Rect(float x, float y, float width, float height) { }
    }

    public class Object { }
    public class Component : Object { }
    public class Behaviour : Component { }
    public class MonoBehaviour : Behaviour { }

    public class Texture : Object
    {
        public virtual int width { get { throw new NotImplementedException(); } }
        public virtual int height { get { throw new NotImplementedException(); } }
        public virtual bool isReadable { get { throw new NotImplementedException(); } }
    }

    public class Texture2D : Texture
    {
        public Texture2D(int width, int height, TextureFormat textureFormat, bool mipChain) { throw new NotImplementedException(); }
        public Texture2D(int width, int height, TextureFormat textureFormat, bool mipChain, bool linear) { throw new NotImplementedException(); }
        public TextureFormat format { get { throw new NotImplementedException(); } }
        public Unity.Collections.NativeArray<T> GetRawTextureData<T>() where T : struct { throw new NotImplementedException(); }
        public byte[] GetRawTextureData() { throw new NotImplementedException(); }
        public void SetPixelData<T>(T[] data, int mipLevel, int sourceDataStartIndex = 0) { throw new NotImplementedException(); }
        public void Apply(bool updateMipmaps) { throw new NotImplementedException(); }
        public void ReadPixels(Rect source, int destX, int destY) { throw new NotImplementedException(); }
    }

    public class RenderTexture : Texture
    {
        public RenderTexture(int width, int height, int depth) { throw new NotImplementedException(); }
        public static RenderTexture active { get; set; }
        public void Release() { throw new NotImplementedException(); }
    }

    public class Camera : Behaviour
    {
        public static Camera main { get { throw new NotImplementedException(); } }
        public RenderTexture targetTexture { get; set; }
        public void Render() { throw new NotImplementedException(); }
    }

    public class Material : Object
    {
        public Texture mainTexture { get; set; }
    }

    public class Renderer : Component
    {
        public Material material { get; set; }
    }

    public static class Time
    {
        public static int frameCount { get { throw new NotImplementedException(); } }
    }

    public static class Application
    {
        public static string streamingAssetsPath { get { throw new NotImplementedException(); } }
    }

    public static class Debug
    {
        public static void LogException(Exception exception) { throw new NotImplementedException(); }
    }

    [AttributeUsage(AttributeTargets.Field)]
    public sealed class TooltipAttribute : Attribute
    {
        public TooltipAttribute(string tooltip) { }
    }

    [AttributeUsage(AttributeTargets.Field)]
    public sealed class RangeAttribute : Attribute
    {
        public RangeAttribute(float min, float max) { }
    }
}

namespace Unity.Collections
{
    public struct NativeArray<T> where T : struct
    {
        public int Length { get { throw new NotImplementedException(); } }
    }
}

namespace Unity.Collections.LowLevel.Unsafe
{
    public static class NativeArrayUnsafeUtility
    {
        public static unsafe void* GetUnsafeReadOnlyPtr<T>(Unity.Collections.NativeArray<T> nativeArray) where T : struct
        {
            throw new NotImplementedException();
        }
    }
}

namespace AOT
{
    [AttributeUsage(AttributeTargets.Method)]
    public sealed class MonoPInvokeCallbackAttribute : Attribute
    {
        public MonoPInvokeCallbackAttribute(Type type) { }
    }
}
