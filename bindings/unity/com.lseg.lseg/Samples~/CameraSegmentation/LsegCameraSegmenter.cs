// Sample: segments a camera every N frames off the main thread and shows the colour overlay
// on a renderer (e.g. a quad in front of the camera, or a RawImage's material).
using System.IO;
using System.Threading;
using System.Threading.Tasks;
using Lseg;
using Lseg.Unity;
using UnityEngine;

public class LsegCameraSegmenter : MonoBehaviour
{
    [Tooltip("A .safetensors file under StreamingAssets (lseg convert makes one from demo_e200.ckpt)")]
    public string weights = "lseg_vitl16.safetensors";
    public string[] labels = { "floor", "wall", "person", "chair", "other" };
    public Camera source;
    [Tooltip("Where the overlay is shown (its material's main texture)")]
    public Renderer overlayTarget;
    public int everyNFrames = 30;
    public int width = 640, height = 480;
    [Tooltip("Long side the network sees (480 for the released weights)")]
    public int size = 480;
    [Range(0, 255)] public int overlayAlpha = 128;

    Model model;
    Labels labelSet;
    RenderTexture target;
    Texture2D readback, overlay;
    Color32[] palette;
    Task<Segmentation> pending;
    readonly CancellationTokenSource cancel = new CancellationTokenSource();

    void Start()
    {
        model = Model.Load(Path.Combine(Application.streamingAssetsPath, weights));
        labelSet = model.EncodeLabels(labels);
        palette = LsegTextures.Palette(labels.Length);
        target = new RenderTexture(width, height, 24);
        readback = new Texture2D(width, height, TextureFormat.RGBA32, false);
        if (source == null) source = Camera.main;
    }

    void Update()
    {
        if (pending != null && pending.IsCompleted)
        {
            if (pending.Status == TaskStatus.RanToCompletion)
            {
                overlay = LsegTextures.ColorTexture(pending.Result, palette, (byte)overlayAlpha, overlay);
                if (overlayTarget != null) overlayTarget.material.mainTexture = overlay;
            }
            else if (pending.Exception != null)
            {
                Debug.LogException(pending.Exception.InnerException);
            }
            pending = null;
        }
        if (pending != null || Time.frameCount % everyNFrames != 0) return;
        // Capture on the main thread, segment on the thread pool.
        var previous = source.targetTexture;
        source.targetTexture = target;
        source.Render();
        RenderTexture.active = target;
        readback.ReadPixels(new Rect(0, 0, width, height), 0, 0);
        readback.Apply(false);
        RenderTexture.active = null;
        source.targetTexture = previous;
        byte[] frame = readback.GetRawTextureData();  // a copy the worker owns
        pending = model.SegmentAsync(labelSet, frame, width, height, PixelFormat.Rgba8, 0,
                                     new SegmentOptions { Size = (uint)size }, Outputs.LabelMap, cancel.Token);
    }

    /// <summary>Change the labels at run time (encoded once, used from the next frame).</summary>
    public void SetLabels(string[] names)
    {
        var next = model.EncodeLabels(names);
        var old = labelSet;
        labelSet = next;
        labels = names;
        palette = LsegTextures.Palette(names.Length);
        if (pending != null) pending.ContinueWith(_ => old.Dispose());
        else old.Dispose();
    }

    void OnDestroy()
    {
        cancel.Cancel();
        if (pending != null)
        {
            try { pending.Wait(); } catch (System.AggregateException) { }
        }
        if (labelSet != null) labelSet.Dispose();
        if (model != null) model.Dispose();
        if (target != null) target.Release();
    }
}
