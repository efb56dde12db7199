//! The LSeg network and its Rust API: load, encode labels, embed images, match.

use std::path::Path;

use burn::tensor::{Device, Tensor};

use crate::backend::{Backend, Precision};
use crate::config::LsegConfig;
use crate::dpt::Decoder;
use crate::error::{Error, Result};
use crate::head::Head;
use crate::nn::l2_normalize;
use crate::testing::random_values;
use crate::text::TextEncoder;
use crate::tokenizer::ClipTokenizer;
use crate::vit::Vit;
#[cfg(feature = "train")]
use crate::weights::TensorStore;
use crate::weights::{Generated, Loader, Source, WeightFile, Weights};

/// How to load a model.
#[derive(Debug, Clone, Default)]
pub struct LoadOptions {
    /// Backend; `None` picks [`Backend::default_cpu`].
    pub backend: Option<Backend>,
    /// Weight and compute precision.
    pub precision: Precision,
    /// Explicit configuration; `None` reads it from the file's metadata or infers it from
    /// the tensor shapes.
    pub config: Option<LsegConfig>,
}

/// Label embeddings, computed once and reused for any number of images.
#[derive(Debug, Clone)]
pub struct LabelSet {
    labels: Vec<String>,
    embeddings: Tensor<2>,
}

impl LabelSet {
    /// Number of labels.
    pub fn len(&self) -> usize {
        self.labels.len()
    }

    /// Always false: a label set has at least one label.
    pub fn is_empty(&self) -> bool {
        self.labels.is_empty()
    }

    /// The labels, in order.
    pub fn labels(&self) -> &[String] {
        &self.labels
    }

    /// L2-normalised text embeddings `[N, dim]`, float32.
    pub fn embeddings(&self) -> &Tensor<2> {
        &self.embeddings
    }

    /// The embeddings as a row-major `N x dim` vector.
    pub fn to_vec(&self) -> Vec<f32> {
        self.embeddings
            .to_data()
            .convert::<f32>()
            .try_to_vec()
            .expect("f32 data")
    }
}

/// Intermediate tensors of one forward pass (for parity tests and feature extraction).
#[derive(Debug, Clone)]
pub struct Taps {
    /// Reassembled maps `layer_1..4`.
    pub layers: [Tensor<4>; 4],
    /// Output of `scratch.refinenet1`.
    pub path_1: Tensor<4>,
    /// Raw pixel embeddings (`scratch.head1`), `[B, out_dim, H/2, W/2]`.
    pub image_features: Tensor<4>,
}

/// A loaded LSeg model. `Send + Sync`: share one instance between threads.
#[derive(Debug)]
pub struct Lseg {
    cfg: LsegConfig,
    backend: Backend,
    precision: Precision,
    device: Device,
    text: TextEncoder,
    vit: Vit,
    decoder: Decoder,
    head: Head,
    tokenizer: &'static ClipTokenizer,
}

impl std::fmt::Debug for ClipTokenizer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ClipTokenizer")
    }
}

impl Lseg {
    /// Load a `.safetensors` file (memory-mapped). The map stays open while the model lives:
    /// the 49408-row token-embedding table is read from it on demand instead of being
    /// copied (101 MB less resident memory in f32). Replace the file by renaming a new one over
    /// it, never by truncating or rewriting it in place (a shrunk mapped file faults).
    pub fn load(path: impl AsRef<Path>, opts: &LoadOptions) -> Result<Self> {
        let file = WeightFile::open(path)?;
        Self::from_weights(&file.parse()?, opts)
    }

    /// Load from an in-memory safetensors image.
    pub fn load_bytes(bytes: &[u8], opts: &LoadOptions) -> Result<Self> {
        let file = WeightFile::from_bytes(bytes);
        Self::from_weights(&file.parse()?, opts)
    }

    /// Build from parsed weights.
    pub fn from_weights(weights: &Weights, opts: &LoadOptions) -> Result<Self> {
        let cfg = match &opts.config {
            Some(c) => {
                c.validate()?;
                c.clone()
            }
            None => weights.infer_config()?,
        };
        Self::build(&Source::File(weights), cfg, opts)
    }

    /// Build from tensors in memory (a training run's weights); `opts.config` is required.
    #[cfg(feature = "train")]
    pub(crate) fn from_store(store: &TensorStore, opts: &LoadOptions) -> Result<Self> {
        let cfg = opts
            .config
            .clone()
            .ok_or_else(|| Error::Config("a model from memory needs its configuration".into()))?;
        Self::build(&Source::Store(store), cfg, opts)
    }

    /// A model of the given configuration with deterministic pseudo-random weights of the
    /// real shapes (benchmarks and tests; nothing is read or downloaded).
    pub fn random(cfg: &LsegConfig, opts: &LoadOptions) -> Result<Self> {
        cfg.validate()?;
        let values = Generated::new(&random_values);
        Self::build(&Source::Generated(&values), cfg.clone(), opts)
    }

    /// Every tensor (official key, shape) the model reads for a configuration, in load order.
    pub fn tensor_specs(cfg: &LsegConfig) -> Result<Vec<(String, Vec<usize>)>> {
        cfg.validate()?;
        let values = Generated::new(&random_values);
        let opts = LoadOptions {
            backend: Some(Backend::default_cpu()?),
            ..Default::default()
        };
        // Shapes only: a model of the full size is built and dropped.
        Self::build(&Source::Generated(&values), cfg.clone(), &opts)?;
        Ok(values.into_requested())
    }

    fn build(source: &Source, cfg: LsegConfig, opts: &LoadOptions) -> Result<Self> {
        let backend = match opts.backend {
            Some(b) => b,
            None => Backend::default_cpu()?,
        };
        if !backend.supports(opts.precision) {
            return Err(Error::Backend(format!(
                "backend `{backend}` cannot compute in {} (use f32, or the flex or tch backend)",
                opts.precision
            )));
        }
        let device = backend.device()?;
        let tokenizer = ClipTokenizer::global()?;
        let l = Loader::new(source, device.clone(), opts.precision.dtype());
        // The text tower keeps its weights in the model's precision (memory) but always
        // computes in float32 (it runs once per label set; exact on the stored weights).
        Ok(Self {
            text: TextEncoder::load(&l, &cfg.text)?,
            vit: Vit::load(&l, &cfg.vit, cfg.hooks)?,
            decoder: Decoder::load(&l, &cfg)?,
            head: Head::load(&l, &cfg)?,
            cfg,
            backend,
            precision: opts.precision,
            device,
            tokenizer,
        })
    }

    /// Configuration.
    pub fn config(&self) -> &LsegConfig {
        &self.cfg
    }

    /// Backend.
    pub fn backend(&self) -> Backend {
        self.backend
    }

    /// Precision.
    pub fn precision(&self) -> Precision {
        self.precision
    }

    /// burn device the model lives on.
    pub fn device(&self) -> &Device {
        &self.device
    }

    /// Pixel-embedding dimension (512).
    pub fn embed_dim(&self) -> usize {
        self.cfg.out_dim
    }

    /// Tokenise labels like `clip.tokenize` (rows without padding). Empty lists, lists over
    /// [`MAX_LABELS`](crate::labels::MAX_LABELS), labels over
    /// [`MAX_LABEL_BYTES`](crate::labels::MAX_LABEL_BYTES), empty or whitespace-only labels and
    /// (unless `truncate`) labels over 77 tokens are errors.
    pub fn tokenize<S: AsRef<str>>(&self, labels: &[S], truncate: bool) -> Result<Vec<Vec<u32>>> {
        crate::labels::check_count(labels.len())?;
        labels
            .iter()
            .enumerate()
            .map(|(i, s)| {
                let s = s.as_ref();
                crate::labels::check_length(i, s)?;
                let row = self
                    .tokenizer
                    .tokenize(s, truncate)
                    .map_err(|e| Error::Label(format!("label {i}: {e}")))?;
                if row.len() <= 2 {
                    return Err(Error::Label(format!("label {i} (`{s}`) is empty")));
                }
                Ok(row)
            })
            .collect()
    }

    /// Raw CLIP text features `[N, embed_dim]` (before normalisation) for token rows.
    pub fn encode_tokens(&self, rows: &[Vec<u32>]) -> Result<Tensor<2>> {
        self.text.forward(rows)
    }

    /// Encode a label set once (tokenise, text tower, L2-normalise).
    pub fn encode_labels<S: AsRef<str>>(&self, labels: &[S]) -> Result<LabelSet> {
        self.encode_labels_with(labels, false)
    }

    /// [`Self::encode_labels`] with explicit truncation of over-long labels.
    pub fn encode_labels_with<S: AsRef<str>>(
        &self,
        labels: &[S],
        truncate: bool,
    ) -> Result<LabelSet> {
        let rows = self.tokenize(labels, truncate)?;
        let feats = self.text.forward(&rows)?;
        Ok(LabelSet {
            labels: labels.iter().map(|s| s.as_ref().to_string()).collect(),
            embeddings: l2_normalize(feats, 1),
        })
    }

    /// Check a network input `[B, 3, H, W]`: H and W non-zero multiples of 32.
    pub fn check_input(&self, dims: [usize; 4]) -> Result<()> {
        check_network_input(dims)
    }

    /// Full image path with intermediates. `image`: normalised `[B, 3, H, W]` float32.
    pub fn forward_taps(&self, image: Tensor<4>) -> Result<Taps> {
        self.check_input(image.dims())?;
        let x = image.to_device(&self.device).cast(self.precision.dtype());
        let (hooks, grid) = self.vit.forward(x);
        let taps = self.decoder.forward(hooks, grid);
        let image_features = self.head.embed(taps.path_1.clone());
        Ok(Taps {
            layers: taps.layers,
            path_1: taps.path_1,
            image_features,
        })
    }

    /// Raw pixel embeddings `[B, out_dim, H/2, W/2]` (the output of `scratch.head1`).
    pub fn embed(&self, image: Tensor<4>) -> Result<Tensor<4>> {
        Ok(self.head.embed(self.path_1(image)?))
    }

    /// ViT and decoder: `path_1` `[B, features, H/2, W/2]`.
    fn path_1(&self, image: Tensor<4>) -> Result<Tensor<4>> {
        self.check_input(image.dims())?;
        let x = image.to_device(&self.device).cast(self.precision.dtype());
        let (hooks, grid) = self.vit.forward(x);
        Ok(self.decoder.forward(hooks, grid).path_1)
    }

    /// Logits `[B, N, H/2, W/2]` (1/0.07 times cosine similarity), float32.
    pub fn logits(&self, pixels: Tensor<4>, labels: &LabelSet) -> Tensor<4> {
        self.head.logits(pixels, labels.embeddings.clone())
    }

    /// Regularisation blocks and x2 upsampling: logits `[B, N, H/2, W/2]` to `[B, N, H, W]`.
    pub fn output(&self, logits: Tensor<4>) -> Tensor<4> {
        self.head.output(logits)
    }

    /// `LSeg.forward`: normalised image `[B, 3, H, W]` to logits `[B, N, H, W]`.
    pub fn forward(&self, image: Tensor<4>, labels: &LabelSet) -> Result<Tensor<4>> {
        let path_1 = self.path_1(image)?;
        let logits = self.head.fused_logits(path_1, labels.embeddings.clone());
        Ok(self.output(logits))
    }

    /// Time the stages of one forward pass (developer tool): `(stage, seconds)` pairs.
    #[doc(hidden)]
    pub fn profile(&self, image: Tensor<4>, labels: &LabelSet) -> Result<Vec<(String, f64)>> {
        use std::time::Instant;
        fn sync<const D: usize>(t: &Tensor<D>) {
            let _ = t.clone().narrow(0, 0, 1).into_data();
        }
        self.check_input(image.dims())?;
        let mut out = Vec::new();
        let t = Instant::now();
        let x = image.to_device(&self.device).cast(self.precision.dtype());
        let (hooks, grid) = self.vit.forward(x);
        sync(&hooks[3]);
        out.push(("vit".to_string(), t.elapsed().as_secs_f64()));
        let t = Instant::now();
        let taps = self.decoder.forward(hooks, grid);
        sync(&taps.path_1);
        out.push(("decoder".to_string(), t.elapsed().as_secs_f64()));
        let t = Instant::now();
        let logits = self
            .head
            .fused_logits(taps.path_1, labels.embeddings.clone());
        sync(&logits);
        out.push(("head1+logits".to_string(), t.elapsed().as_secs_f64()));
        let t = Instant::now();
        let o = self.output(logits);
        sync(&o);
        out.push(("output".to_string(), t.elapsed().as_secs_f64()));
        Ok(out)
    }
}

/// The network's input rule: `[B >= 1, 3, H, W]` with H and W non-zero multiples of 32.
pub(crate) fn check_network_input(dims: [usize; 4]) -> Result<()> {
    let [b, c, h, w] = dims;
    let m = crate::protocol::SIZE_MULTIPLE;
    if b == 0 || c != 3 {
        return Err(Error::InvalidInput(format!(
            "image tensor must be [B>=1, 3, H, W], got {dims:?}"
        )));
    }
    if h == 0 || w == 0 || h % m != 0 || w % m != 0 {
        return Err(Error::InvalidInput(format!(
            "the network takes H and W that are non-zero multiples of {m}, got {h}x{w} \
             (resize or pad the image, or use the segment API which does it for you)"
        )));
    }
    Ok(())
}
