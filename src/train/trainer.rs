//! The training loop's core: weights in a [`TensorStore`], the image encoder rebuilt from it
//! on every step through the inference code (BatchNorm in training mode), burn autodiff, the
//! optimiser update, checkpoints.

use std::collections::BTreeMap;
use std::path::Path;

use burn::tensor::{DType, Device, Tensor, TensorData};
use safetensors::Dtype;
use serde::{Deserialize, Serialize};

use super::loss::cross_entropy;
use super::optim::{Optimizer, Schedule};
use crate::backend::{Backend, Precision};
use crate::config::LsegConfig;
use crate::dpt::Decoder;
use crate::error::{Error, Result};
use crate::head::Head;
use crate::metrics::IGNORE;
use crate::model::{LoadOptions, Lseg};
use crate::vit::Vit;
use crate::weights::{CONFIG_METADATA_KEY, Loader, Source, Stored, TensorStore, WeightFile};

/// Key prefixes of the trained image encoder: the backbone group and the decoder group
/// (`scratch`, trained at [`TrainOptions::decoder_lr_factor`] times the learning rate).
const BACKBONE: &str = "pretrained.";
const DECODER: &str = "scratch.";
/// Key prefixes a checkpoint carries: the image encoder and the frozen text tower.
const SAVED: [&str; 4] = [BACKBONE, DECODER, "clip_pretrained.", "logit_scale"];
/// Safetensors metadata key of the optimiser state file.
const STATE_METADATA_KEY: &str = "lseg_train_state";

/// Hyper-parameters of a run. [`TrainOptions::official`] is the paper's recipe.
#[derive(Debug, Clone, PartialEq)]
pub struct TrainOptions {
    /// Optimiser.
    pub optimizer: Optimizer,
    /// Learning rate of the backbone group (the official `base_lr / 16 * batch_size`).
    pub lr: f64,
    /// Factor of the decoder (`scratch`) group's learning rate (10).
    pub decoder_lr_factor: f64,
    /// Weight decay (SGD: added to the gradient; AdamW: decoupled).
    pub weight_decay: f64,
    /// Learning-rate schedule.
    pub schedule: Schedule,
}

impl TrainOptions {
    /// The official recipe for `batch_size` images per step: SGD momentum 0.9, weight decay
    /// 1e-4, lr 0.004 / 16 x batch size, decoder at 10x, poly decay (power 0.9) per epoch.
    pub fn official(batch_size: usize, epochs: u64, steps_per_epoch: u64) -> Self {
        Self {
            optimizer: Optimizer::SGD,
            lr: 0.004 / 16.0 * batch_size as f64,
            decoder_lr_factor: 10.0,
            weight_decay: 1e-4,
            schedule: Schedule::PolyEpoch {
                power: 0.9,
                epochs,
                steps_per_epoch,
            },
        }
    }
}

/// A batch of training crops of one size: normalised images and their class indices.
#[derive(Debug, Clone)]
pub struct Batch {
    images: Vec<f32>,
    targets: Vec<u16>,
    dims: [usize; 3],
}

impl Batch {
    /// `images`: `[B, 3, H, W]` normalised float32, row-major; `targets`: `[B, H, W]` class
    /// indices, [`IGNORE`] for unlabelled pixels.
    pub fn new(images: Vec<f32>, targets: Vec<u16>, [b, h, w]: [usize; 3]) -> Result<Self> {
        if b == 0 || images.len() != b * 3 * h * w || targets.len() != b * h * w {
            return Err(Error::InvalidInput(format!(
                "a batch of {b} images of {h}x{w} needs {} image values and {} targets, got \
                 {} and {}",
                b * 3 * h * w,
                b * h * w,
                images.len(),
                targets.len()
            )));
        }
        Ok(Self {
            images,
            targets,
            dims: [b, h, w],
        })
    }

    /// Images in the batch.
    pub fn len(&self) -> usize {
        self.dims[0]
    }

    /// Always false: a batch holds at least one image.
    pub fn is_empty(&self) -> bool {
        self.dims[0] == 0
    }
}

/// What one optimiser step did.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct StepStats {
    /// Mean loss over the micro-batches.
    pub loss: f64,
    /// Learning rate of the backbone group.
    pub lr: f64,
    /// Labelled pixels seen.
    pub pixels: usize,
    /// Pixel accuracy on the labelled pixels (training-mode forward).
    pub pixel_accuracy: f64,
}

/// The gradients of one step, by official key, with the loss they came from.
#[derive(Debug, Default)]
pub struct Gradients {
    loss: f64,
    pixels: usize,
    correct: usize,
    grads: BTreeMap<String, Tensor<1>>,
}

impl Gradients {
    /// The loss (mean over the micro-batches).
    pub fn loss(&self) -> f64 {
        self.loss
    }

    /// The gradient of a parameter (official key), flat; `None` for a parameter the
    /// forward does not use or that is frozen.
    pub fn get(&self, key: &str) -> Option<Vec<f32>> {
        self.grads.get(key).map(host_f32)
    }

    /// The keys that have a gradient.
    pub fn keys(&self) -> impl Iterator<Item = &str> {
        self.grads.keys().map(String::as_str)
    }
}

/// The state file's metadata.
#[derive(Debug, Serialize, Deserialize)]
struct StateMeta {
    format: u32,
    optimizer: String,
    step: u64,
}

/// A training run: the weights, the frozen label embeddings, the optimiser state.
pub struct Trainer {
    cfg: LsegConfig,
    backend: Backend,
    device: Device,
    store: TensorStore,
    trainable: Vec<String>,
    text: Tensor<2>,
    labels: Vec<String>,
    options: TrainOptions,
    state: BTreeMap<String, Vec<Tensor<1>>>,
    step: u64,
    start: WeightFile<'static>,
    /// BatchNorm forwards in training mode since `start` (its `num_batches_tracked`).
    bn_forwards: i64,
}

impl std::fmt::Debug for Trainer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Trainer")
            .field("step", &self.step)
            .field("labels", &self.labels.len())
            .field("options", &self.options)
            .finish()
    }
}

impl Trainer {
    /// Start from a `.safetensors` file (the official weights or a checkpoint of
    /// `lseg train`), training on `labels` (encoded once by the frozen text tower). `load`
    /// picks the backend (flex or tch) and the configuration as for [`Lseg::load`]; training
    /// computes in float32 (weights stored in half precision are widened).
    pub fn new<S: AsRef<str>>(
        weights: impl AsRef<Path>,
        labels: &[S],
        options: TrainOptions,
        load: &LoadOptions,
    ) -> Result<Self> {
        if load.precision != Precision::F32 {
            return Err(Error::Backend(format!(
                "training computes in f32, not {}",
                load.precision
            )));
        }
        let start = WeightFile::open(weights)?;
        let parsed = start.parse()?;
        let cfg = match &load.config {
            Some(c) => {
                c.validate()?;
                c.clone()
            }
            None => parsed.infer_config()?,
        };
        let backend = match load.backend {
            Some(b) => b,
            None => Backend::default_cpu()?,
        };
        if backend == Backend::Ndarray {
            return Err(Error::Backend(
                "training needs the flex or tch backend (burn-ndarray has no backward of \
                 bilinear interpolation)"
                    .into(),
            ));
        }
        let device = backend.device()?;
        let mut tensors = BTreeMap::new();
        for info in parsed.tensors() {
            let float = matches!(info.dtype.as_str(), "F32" | "F16" | "BF16");
            if !float || !SAVED.iter().any(|p| info.key.starts_with(p)) {
                continue;
            }
            let (values, shape) = parsed.read_f32(&info.key)?;
            let n = values.len();
            let flat = Tensor::<1>::from_data(TensorData::new(values, [n]), (&device, DType::F32));
            tensors.insert(info.key, Stored { flat, shape });
        }
        let trainable = tensors
            .keys()
            .filter(|k| k.starts_with(BACKBONE) || k.starts_with(DECODER))
            .filter(|k| !k.ends_with(".running_mean") && !k.ends_with(".running_var"))
            .cloned()
            .collect();
        drop(parsed);
        let store = TensorStore::new(tensors, true);
        let opts = LoadOptions {
            backend: Some(backend),
            precision: Precision::F32,
            config: Some(cfg.clone()),
        };
        let model = Lseg::from_store(&TensorStore::new(store.tensors.clone(), false), &opts)?;
        let set = model.encode_labels(labels)?;
        Ok(Self {
            cfg,
            backend,
            device,
            store,
            trainable,
            text: set.embeddings().clone(),
            labels: set.labels().to_vec(),
            options,
            state: BTreeMap::new(),
            step: 0,
            start,
            bn_forwards: 0,
        })
    }

    /// Continue a run from a checkpoint written by [`Trainer::save`] and its state file.
    pub fn resume<S: AsRef<str>>(
        checkpoint: impl AsRef<Path>,
        state: impl AsRef<Path>,
        labels: &[S],
        options: TrainOptions,
        load: &LoadOptions,
    ) -> Result<Self> {
        let mut t = Self::new(checkpoint, labels, options, load)?;
        let file = WeightFile::open(state.as_ref())?;
        let parsed = file.parse()?;
        let meta: StateMeta = parsed
            .metadata()
            .get(STATE_METADATA_KEY)
            .and_then(|m| serde_json::from_str(m).ok())
            .ok_or_else(|| {
                Error::InvalidWeights(format!(
                    "{} is not an lseg train state file (no `{STATE_METADATA_KEY}` metadata)",
                    state.as_ref().display()
                ))
            })?;
        if meta.format != 1 || meta.optimizer != t.options.optimizer.slots().join(",") {
            return Err(Error::InvalidInput(format!(
                "{} holds the state of optimizer slots `{}` (format {}), this run uses {} \
                 (slots `{}`)",
                state.as_ref().display(),
                meta.optimizer,
                meta.format,
                t.options.optimizer,
                t.options.optimizer.slots().join(",")
            )));
        }
        for key in &t.trainable {
            let mut slots = Vec::new();
            for slot in t.options.optimizer.slots() {
                let name = format!("{slot}.{key}");
                if parsed.shape(&name).is_none() {
                    break;
                }
                let (values, _) = parsed.read_f32(&name)?;
                let n = values.len();
                slots.push(Tensor::<1>::from_data(
                    TensorData::new(values, [n]),
                    (&t.device, DType::F32),
                ));
            }
            if !slots.is_empty() {
                t.state.insert(key.clone(), slots);
            }
        }
        t.step = meta.step;
        Ok(t)
    }

    /// The model configuration.
    pub fn config(&self) -> &LsegConfig {
        &self.cfg
    }

    /// The training labels.
    pub fn labels(&self) -> &[String] {
        &self.labels
    }

    /// Optimiser steps done.
    pub fn step_count(&self) -> u64 {
        self.step
    }

    /// The hyper-parameters.
    pub fn options(&self) -> &TrainOptions {
        &self.options
    }

    /// The current weights as an inference model (BatchNorm folded with its running
    /// statistics), exactly what [`Lseg::load`] gives for a checkpoint saved now.
    pub fn model(&self) -> Result<Lseg> {
        let opts = LoadOptions {
            backend: Some(self.backend),
            precision: Precision::F32,
            config: Some(self.cfg.clone()),
        };
        Lseg::from_store(&TensorStore::new(self.store.tensors.clone(), false), &opts)
    }

    /// The current value of a stored tensor (official key), flat.
    pub fn tensor(&self, key: &str) -> Option<Vec<f32>> {
        self.store.tensors.get(key).map(|t| host_f32(&t.flat))
    }

    /// Logits `[B, N, H, W]` of the training-mode forward.
    fn forward(&self, images: Tensor<4>) -> Result<Tensor<4>> {
        let source = Source::Store(&self.store);
        let l = Loader::new(&source, self.device.clone(), DType::F32);
        let vit = Vit::load(&l, &self.cfg.vit, self.cfg.hooks)?;
        let decoder = Decoder::load(&l, &self.cfg)?;
        let head = Head::load(&l, &self.cfg)?;
        let (hooks, grid) = vit.forward(images);
        let path_1 = decoder.forward(hooks, grid).path_1;
        let logits = head.logits(head.embed(path_1), self.text.clone());
        Ok(head.output(logits))
    }

    /// The gradient of the mean loss over `batch` (one micro-batch), scaled by `scale`,
    /// added into `grads`; applies the BatchNorm running statistics. Returns the loss, the
    /// labelled pixels and the correctly predicted ones.
    fn accumulate(
        &mut self,
        batch: &Batch,
        scale: f64,
        grads: &mut BTreeMap<String, Tensor<1>>,
    ) -> Result<(f64, usize, usize)> {
        let [b, h, w] = batch.dims;
        let model_input = [b, 3, h, w];
        crate::model::check_network_input(model_input)?;
        let n = self.labels.len();
        if let Some(&bad) = batch
            .targets
            .iter()
            .find(|&&t| t != IGNORE && t as usize >= n)
        {
            return Err(Error::InvalidInput(format!(
                "target class {bad} is not one of the {n} labels"
            )));
        }
        let images = Tensor::<4>::from_data(
            TensorData::new(batch.images.clone(), model_input),
            (&self.device, DType::F32),
        );
        let logits = self.forward(images)?;
        let predicted = logits.clone().detach().without_autodiff().argmax(1);
        let (loss, labelled) = cross_entropy(logits, &batch.targets);
        let value = loss.clone().without_autodiff().into_scalar::<f32>() as f64;
        let g = (loss * scale).backward();
        for key in &self.trainable {
            let Some(grad) = self.store.tensors[key].flat.grad(&g) else {
                continue;
            };
            let sum = match grads.remove(key) {
                Some(acc) => acc + grad,
                None => grad,
            };
            grads.insert(key.clone(), sum);
        }
        for (key, value) in self.store.take_updates() {
            if let Some(t) = self.store.tensors.get_mut(&key) {
                t.flat = value;
            }
        }
        self.bn_forwards += 1;
        let predicted: Vec<i64> = predicted
            .into_data()
            .convert::<i64>()
            .try_into_vec::<i64>()
            .expect("i64 data");
        let correct = predicted
            .iter()
            .zip(&batch.targets)
            .filter(|&(&p, &t)| t != IGNORE && p == t as i64)
            .count();
        Ok((value, labelled, correct))
    }

    /// One optimiser step over `micro_batches` (gradient accumulation: the mean of their
    /// mean losses is minimised): [`Trainer::gradients`] then [`Trainer::apply`].
    pub fn step(&mut self, micro_batches: &[Batch]) -> Result<StepStats> {
        let g = self.gradients(micro_batches)?;
        Ok(self.apply(g))
    }

    /// The gradients of the mean of the micro-batches' mean losses, from training-mode
    /// forwards (which update the BatchNorm running statistics, as PyTorch's do).
    pub fn gradients(&mut self, micro_batches: &[Batch]) -> Result<Gradients> {
        if micro_batches.is_empty() {
            return Err(Error::InvalidInput(
                "a step needs at least one batch".into(),
            ));
        }
        for key in &self.trainable {
            let t = self.store.tensors.get_mut(key).expect("trainable key");
            t.flat = t.flat.clone().without_autodiff().autodiff().require_grad();
        }
        let scale = 1.0 / micro_batches.len() as f64;
        let mut g = Gradients::default();
        let result = micro_batches.iter().try_for_each(|batch| {
            let (l, p, c) = self.accumulate(batch, scale, &mut g.grads)?;
            g.loss += l * scale;
            g.pixels += p;
            g.correct += c;
            Ok::<(), Error>(())
        });
        for key in &self.trainable {
            let t = self.store.tensors.get_mut(key).expect("trainable key");
            t.flat = t.flat.clone().without_autodiff();
        }
        result.map(|()| g)
    }

    /// One optimiser update with `g` at the scheduled learning rate. Parameters without a
    /// gradient (unused by the forward) are left alone, as `torch.optim` does.
    pub fn apply(&mut self, g: Gradients) -> StepStats {
        let factor = self.options.schedule.factor(self.step);
        let lr = self.options.lr * factor;
        self.step += 1;
        for (key, grad) in g.grads {
            let group_lr = if key.starts_with(DECODER) {
                lr * self.options.decoder_lr_factor
            } else {
                lr
            };
            let state = self.state.entry(key.clone()).or_default();
            let t = self.store.tensors.get_mut(&key).expect("trainable key");
            t.flat = self.options.optimizer.update(
                t.flat.clone(),
                grad,
                state,
                group_lr,
                self.options.weight_decay,
                self.step,
            );
        }
        StepStats {
            loss: g.loss,
            lr,
            pixels: g.pixels,
            pixel_accuracy: g.correct as f64 / g.pixels.max(1) as f64,
        }
    }

    /// Write the weights to `checkpoint` (a `.safetensors` that [`Lseg::load`], `lseg
    /// segment` and the C API load; config in the metadata) and the optimiser state to
    /// `state` (for [`Trainer::resume`]). Each is written to a temporary file and renamed.
    pub fn save(&self, checkpoint: impl AsRef<Path>, state: impl AsRef<Path>) -> Result<()> {
        let parsed = self.start.parse()?;
        let mut owned: Vec<(String, Dtype, Vec<usize>, Vec<u8>)> = Vec::new();
        for info in parsed.tensors() {
            if !SAVED.iter().any(|p| info.key.starts_with(p)) {
                continue;
            }
            if let Some(t) = self.store.tensors.get(&info.key) {
                owned.push((info.key, Dtype::F32, t.shape.clone(), f32_bytes(&t.flat)));
                continue;
            }
            let (dtype, shape, bytes) = parsed.raw(&info.key).expect("listed tensor");
            let bytes = if info.key.ends_with(".num_batches_tracked") && dtype == Dtype::I64 {
                let old = i64::from_le_bytes(bytes.try_into().unwrap_or([0; 8]));
                (old + self.bn_forwards).to_le_bytes().to_vec()
            } else {
                bytes.to_vec()
            };
            owned.push((info.key, dtype, shape, bytes));
        }
        let mut meta = std::collections::HashMap::new();
        let cfg = serde_json::to_string(&self.cfg).expect("config serialises");
        meta.insert(CONFIG_METADATA_KEY.to_string(), cfg);
        meta.insert("lseg_train_step".to_string(), self.step.to_string());
        write_safetensors(&owned, meta, checkpoint.as_ref())?;

        let mut owned = Vec::new();
        for (key, slots) in &self.state {
            let shape = self.store.tensors[key].shape.clone();
            for (slot, t) in self.options.optimizer.slots().iter().zip(slots) {
                owned.push((
                    format!("{slot}.{key}"),
                    Dtype::F32,
                    shape.clone(),
                    f32_bytes(t),
                ));
            }
        }
        let meta_json = serde_json::to_string(&StateMeta {
            format: 1,
            optimizer: self.options.optimizer.slots().join(","),
            step: self.step,
        })
        .expect("state serialises");
        let mut meta = std::collections::HashMap::new();
        meta.insert(STATE_METADATA_KEY.to_string(), meta_json);
        write_safetensors(&owned, meta, state.as_ref())
    }
}

/// The values of a tensor on the host, as float32.
fn host_f32(t: &Tensor<1>) -> Vec<f32> {
    t.clone()
        .into_data()
        .convert::<f32>()
        .try_into_vec::<f32>()
        .expect("converted to f32")
}

/// The little-endian bytes of a float32 tensor.
fn f32_bytes(t: &Tensor<1>) -> Vec<u8> {
    host_f32(t).iter().flat_map(|x| x.to_le_bytes()).collect()
}

/// Serialise `tensors` with `meta` to `path` through a temporary file in the same folder.
fn write_safetensors(
    tensors: &[(String, Dtype, Vec<usize>, Vec<u8>)],
    meta: std::collections::HashMap<String, String>,
    path: &Path,
) -> Result<()> {
    let views = tensors
        .iter()
        .map(|(k, dtype, shape, bytes)| {
            safetensors::tensor::TensorView::new(*dtype, shape.clone(), bytes)
                .map(|v| (k.clone(), v))
                .map_err(|e| Error::InvalidWeights(format!("{k}: {e}")))
        })
        .collect::<Result<Vec<_>>>()?;
    let io = |source| Error::Io {
        path: path.to_path_buf(),
        source,
    };
    let tmp = path.with_extension("safetensors.tmp");
    safetensors::serialize_to_file(views, Some(meta), &tmp)
        .map_err(|e| io(std::io::Error::other(e.to_string())))?;
    std::fs::rename(&tmp, path).map_err(io)
}
