//! `lseg::train` against PyTorch autograd (`tests/data/train_step/`, two SGD and two AdamW
//! steps of the tiny fixture model), and the run's own guarantees: checkpoints load as
//! inference models with identical outputs, resume continues bit for bit, bad input errors.
#![cfg(feature = "train")]

mod common;

use std::path::PathBuf;

use common::{fixture, fixture_config};
use lseg::burn::tensor::{Tensor, TensorData};
use lseg::metrics::IGNORE;
use lseg::train::{Batch, Optimizer, Schedule, TrainOptions, Trainer};
use lseg::train::{CLIP_PREFIX, VIT_PREFIX, initial_weights};
use lseg::weights::WeightFile;
use lseg::{Backend, LoadOptions, Lseg, LsegConfig, Precision};

const LABELS: [&str; 4] = ["dog", "grass", "sky", "other"];
/// Trained tensors of the reference (`grad1.*`, `sgd2.*`, `adamw2.*`).
const CHECKED: [&str; 17] = [
    "pretrained.model.cls_token",
    "pretrained.model.pos_embed",
    "pretrained.model.patch_embed.proj.weight",
    "pretrained.model.blocks.0.attn.qkv.weight",
    "pretrained.model.blocks.0.norm1.weight",
    "pretrained.model.blocks.0.mlp.fc2.bias",
    "pretrained.act_postprocess1.0.project.0.weight",
    "pretrained.act_postprocess1.3.weight",
    "pretrained.act_postprocess1.4.weight",
    "pretrained.act_postprocess4.4.weight",
    "scratch.layer1_rn.weight",
    "scratch.refinenet1.resConfUnit1.conv1.weight",
    "scratch.refinenet1.resConfUnit1.bn1.weight",
    "scratch.refinenet1.resConfUnit1.bn1.bias",
    "scratch.refinenet4.out_conv.weight",
    "scratch.head1.weight",
    "scratch.head1.bias",
];

fn reference_path() -> PathBuf {
    fixture("README.md")
        .parent()
        .unwrap()
        .parent()
        .unwrap()
        .join("data/train_step/tiny_vit16_steps.safetensors")
}

struct Reference {
    file: WeightFile<'static>,
}

impl Reference {
    fn load() -> Self {
        Self {
            file: WeightFile::open(reference_path()).unwrap(),
        }
    }

    fn get(&self, key: &str) -> Vec<f32> {
        self.file.parse().unwrap().read_f32(key).unwrap().0
    }

    fn batch(&self) -> Batch {
        let targets = self
            .get("input.target")
            .into_iter()
            .map(|t| if t < 0.0 { IGNORE } else { t as u16 })
            .collect();
        Batch::new(self.get("input.image"), targets, [2, 64, 96]).unwrap()
    }

    fn no_grad(&self) -> Vec<String> {
        let parsed = self.file.parse().unwrap();
        serde_json::from_str(&parsed.metadata()["no_grad"]).unwrap()
    }
}

fn load_options() -> LoadOptions {
    LoadOptions {
        config: Some(fixture_config("tiny_vit16")),
        ..Default::default()
    }
}

fn options(optimizer: Optimizer) -> TrainOptions {
    let (lr, weight_decay) = match optimizer {
        Optimizer::Sgd { .. } => (0.01, 1e-4),
        Optimizer::AdamW { .. } => (1e-3, 0.01),
    };
    TrainOptions {
        optimizer,
        lr,
        decoder_lr_factor: 10.0,
        weight_decay,
        schedule: Schedule::Constant,
    }
}

fn trainer(optimizer: Optimizer) -> Trainer {
    trainer_on(optimizer, None)
}

fn trainer_on(optimizer: Optimizer, backend: Option<Backend>) -> Trainer {
    let load = LoadOptions {
        backend,
        ..load_options()
    };
    Trainer::new(
        fixture("tiny_vit16.safetensors"),
        &LABELS,
        options(optimizer),
        &load,
    )
    .unwrap()
}

/// `max |a - b| <= tol * max |b|`, reported with the key.
fn assert_close(key: &str, a: &[f32], b: &[f32], tol: f32) {
    assert_eq!(a.len(), b.len(), "{key}: length");
    let scale = b.iter().fold(0f32, |m, x| m.max(x.abs()));
    let err = a.iter().zip(b).fold(0f32, |m, (x, y)| m.max((x - y).abs()));
    eprintln!("{key}: max error / max |ref| = {:.2e}", err / scale);
    assert!(
        err <= tol * scale,
        "{key}: max error {err:e} over max |ref| {scale:e} (tolerance {tol:e} relative)"
    );
}

#[test]
fn sgd_steps_match_pytorch_autograd_on_every_backend() {
    for backend in Backend::compiled() {
        if backend == Backend::Ndarray {
            let load = LoadOptions {
                backend: Some(backend),
                ..load_options()
            };
            let start = fixture("tiny_vit16.safetensors");
            let e = Trainer::new(start, &LABELS, options(Optimizer::SGD), &load).unwrap_err();
            assert!(e.to_string().contains("flex or tch"), "{e}");
            continue;
        }
        eprintln!("backend {backend}");
        sgd_steps_match_pytorch_on(backend);
    }
}

fn sgd_steps_match_pytorch_on(backend: Backend) {
    let r = Reference::load();
    let mut t = trainer_on(Optimizer::SGD, Some(backend));
    let batch = r.batch();
    let g = t.gradients(std::slice::from_ref(&batch)).unwrap();
    let loss1 = r.get("sgd.loss1")[0] as f64;
    assert!(
        (g.loss() - loss1).abs() <= 1e-5 * loss1,
        "loss {} vs {loss1}",
        g.loss()
    );
    for key in CHECKED {
        let grad = g
            .get(key)
            .unwrap_or_else(|| panic!("no gradient for {key}"));
        assert_close(
            &format!("grad of {key}"),
            &grad,
            &r.get(&format!("grad1.{key}")),
            2e-5,
        );
    }
    // The parameters PyTorch gives no gradient (unused by the forward) get none here either.
    for key in r.no_grad() {
        assert!(g.get(&key).is_none(), "{key} has a gradient");
    }
    assert!(g.keys().all(|k| !k.starts_with("clip_pretrained.")));
    t.apply(g);
    let stats = t.step(&[batch]).unwrap();
    let loss2 = r.get("sgd.loss2")[0] as f64;
    assert!(
        (stats.loss - loss2).abs() <= 1e-4 * loss2,
        "loss {} vs {loss2}",
        stats.loss
    );
    assert!(loss2 < loss1);
    for key in CHECKED {
        let got = t.tensor(key).unwrap();
        let want = r.get(&format!("sgd2.{key}"));
        // The weights themselves, and (more demanding) their change over the two steps.
        assert_close(key, &got, &want, 1e-6);
        let start = WeightFile::open(fixture("tiny_vit16.safetensors")).unwrap();
        let w0 = start.parse().unwrap().read_f32(key).unwrap().0;
        let delta = |w: &[f32]| -> Vec<f32> { w.iter().zip(&w0).map(|(a, b)| a - b).collect() };
        assert_close(
            &format!("change of {key}"),
            &delta(&got),
            &delta(&want),
            2e-3,
        );
    }
    for bn in [
        "scratch.refinenet1.resConfUnit1.bn1",
        "scratch.refinenet4.resConfUnit2.bn2",
    ] {
        for stat in ["running_mean", "running_var"] {
            let key = format!("{bn}.{stat}");
            assert_close(
                &key,
                &t.tensor(&key).unwrap(),
                &r.get(&format!("sgd2.{key}")),
                1e-6,
            );
        }
    }
}

#[test]
fn adamw_steps_match_pytorch() {
    let r = Reference::load();
    let mut t = trainer(Optimizer::ADAMW);
    let batch = r.batch();
    t.step(std::slice::from_ref(&batch)).unwrap();
    let stats = t.step(&[batch]).unwrap();
    let loss2 = r.get("adamw.loss2")[0] as f64;
    assert!(
        (stats.loss - loss2).abs() <= 1e-4 * loss2,
        "loss {} vs {loss2}",
        stats.loss
    );
    let start = WeightFile::open(fixture("tiny_vit16.safetensors")).unwrap();
    for key in CHECKED {
        let got = t.tensor(key).unwrap();
        let want = r.get(&format!("adamw2.{key}"));
        // Adam's first steps move an element by about lr whatever the size of its gradient,
        // so an element whose gradient is at float32 noise level moves by an arbitrary part
        // of lr. The change is checked where the step-1 gradient is at least 5 % of the
        // tensor's largest (those gradients agree with PyTorch's to well under 1 %).
        let w0 = start.parse().unwrap().read_f32(key).unwrap().0;
        let g1 = r.get(&format!("grad1.{key}"));
        let g_max = g1.iter().fold(0f32, |m, x| m.max(x.abs()));
        let strong: Vec<usize> = (0..g1.len())
            .filter(|&i| g1[i].abs() >= 0.05 * g_max)
            .collect();
        assert!(!strong.is_empty());
        let change = |w: &[f32]| -> Vec<f32> { strong.iter().map(|&i| w[i] - w0[i]).collect() };
        assert_close(
            &format!("change of {key}"),
            &change(&got),
            &change(&want),
            2e-3,
        );
    }
}

/// Two batches of 32x32 crops cut from the reference batch.
fn small_batches(r: &Reference) -> [Batch; 2] {
    let image = r.get("input.image");
    let target = r.get("input.target");
    let crop = |x0: usize| {
        let mut im = Vec::new();
        let mut tg = Vec::new();
        for b in 0..2 {
            for c in 0..3 {
                for y in 16..48 {
                    let row = ((b * 3 + c) * 64 + y) * 96 + x0;
                    im.extend_from_slice(&image[row..row + 32]);
                }
            }
            for y in 16..48 {
                let row = (b * 64 + y) * 96 + x0;
                tg.extend(
                    target[row..row + 32]
                        .iter()
                        .map(|&t| if t < 0.0 { IGNORE } else { t as u16 }),
                );
            }
        }
        Batch::new(im, tg, [2, 32, 32]).unwrap()
    };
    [crop(16), crop(48)]
}

#[test]
fn resume_continues_bit_for_bit() {
    let r = Reference::load();
    let batches = small_batches(&r);
    let mut opts = options(Optimizer::SGD);
    opts.schedule = Schedule::PolyStep {
        power: 0.9,
        steps: 4,
    };
    let dir = tempfile::tempdir().unwrap();
    let run = |t: &mut Trainer, steps: std::ops::Range<usize>| {
        for i in steps {
            // Gradient accumulation over both batches on odd steps.
            if i % 2 == 1 {
                t.step(&batches).unwrap();
            } else {
                t.step(&batches[i / 2 % 2..][..1]).unwrap();
            }
        }
    };
    let start = fixture("tiny_vit16.safetensors");
    let mut straight = Trainer::new(&start, &LABELS, opts.clone(), &load_options()).unwrap();
    run(&mut straight, 0..4);
    let mut first = Trainer::new(&start, &LABELS, opts.clone(), &load_options()).unwrap();
    run(&mut first, 0..2);
    let (ckpt, state) = (
        dir.path().join("s2.safetensors"),
        dir.path().join("s2.state"),
    );
    first.save(&ckpt, &state).unwrap();
    let mut resumed = Trainer::resume(&ckpt, &state, &LABELS, opts, &load_options()).unwrap();
    assert_eq!(resumed.step_count(), 2);
    run(&mut resumed, 2..4);
    let (a, b) = (
        dir.path().join("a.safetensors"),
        dir.path().join("b.safetensors"),
    );
    straight.save(&a, dir.path().join("a.state")).unwrap();
    resumed.save(&b, dir.path().join("b.state")).unwrap();
    let (fa, fb) = (WeightFile::open(&a).unwrap(), WeightFile::open(&b).unwrap());
    let (pa, pb) = (fa.parse().unwrap(), fb.parse().unwrap());
    let keys: Vec<String> = pa.tensors().into_iter().map(|i| i.key).collect();
    assert_eq!(
        keys,
        pb.tensors().into_iter().map(|i| i.key).collect::<Vec<_>>()
    );
    let mut changed = 0;
    let original = WeightFile::open(&start).unwrap();
    let po = original.parse().unwrap();
    for key in &keys {
        let (va, vb) = (pa.read_f32(key), pb.read_f32(key));
        if let (Ok(va), Ok(vb)) = (va, vb) {
            let bits = |v: &[f32]| v.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
            assert_eq!(bits(&va.0), bits(&vb.0), "{key} differs after resume");
            changed += (po.read_f32(key).unwrap().0 != va.0) as usize;
        }
    }
    assert!(changed > 100, "only {changed} tensors changed");
    // BatchNorm's counter counts the training forwards (4 steps, 2 of them over 2 batches).
    let counter = "scratch.refinenet1.resConfUnit1.bn1.num_batches_tracked";
    let stored = |p: &lseg::weights::Weights| p.tensors().into_iter().find(|i| i.key == counter);
    assert_eq!(stored(&pa).unwrap().dtype, "I64");
    assert!(stored(&pb).is_some());
}

#[test]
fn a_checkpoint_loads_as_the_trained_model() {
    let r = Reference::load();
    let mut t = trainer(Optimizer::SGD);
    t.step(&[r.batch()]).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let ckpt = dir.path().join("ckpt.safetensors");
    t.save(&ckpt, dir.path().join("ckpt.state.safetensors"))
        .unwrap();
    // No explicit configuration: the checkpoint carries it in its metadata.
    let loaded = Lseg::load(&ckpt, &LoadOptions::default()).unwrap();
    assert_eq!(loaded.config(), t.config());
    let in_memory = t.model().unwrap();
    let image = Tensor::<4>::from_data(
        TensorData::new(r.get("input.image"), [2, 3, 64, 96]),
        loaded.device(),
    );
    let logits = |m: &Lseg| {
        let labels = m.encode_labels(&LABELS).unwrap();
        m.forward(image.clone(), &labels)
            .unwrap()
            .into_data()
            .try_to_vec::<f32>()
            .unwrap()
    };
    let (a, b) = (logits(&loaded), logits(&in_memory));
    assert!(a.iter().zip(&b).all(|(x, y)| x.to_bits() == y.to_bits()));
    // ... and it is not the starting model.
    let start = Lseg::load(fixture("tiny_vit16.safetensors"), &load_options()).unwrap();
    assert_ne!(logits(&start), a);
}

/// Two 32x32 images whose quadrants are the four classes, each class its own colour.
fn quadrants() -> Batch {
    let (mut image, mut target) = (vec![0f32; 2 * 3 * 32 * 32], vec![0u16; 2 * 32 * 32]);
    for b in 0..2 {
        for y in 0..32 {
            for x in 0..32 {
                let class = (y / 16) * 2 + (x / 16 + b) % 2;
                target[(b * 32 + y) * 32 + x] = class as u16;
                for c in 0..3 {
                    let on = (class >> c) & 1 == 1 || (class == 3 && c == 2);
                    let noise = ((x * 7 + y * 13 + c * 5) % 11) as f32 / 55.0;
                    image[((b * 3 + c) * 32 + y) * 32 + x] = if on { 0.8 } else { -0.8 } + noise;
                }
            }
        }
    }
    Batch::new(image, target, [2, 32, 32]).unwrap()
}

#[test]
fn the_loss_falls_and_the_accuracy_rises() {
    let mut t = trainer(Optimizer::SGD);
    let batches = [quadrants()];
    let first = t.step(&batches).unwrap();
    let mut last = first;
    for _ in 0..9 {
        last = t.step(&batches).unwrap();
    }
    assert!(last.loss < 0.5 * first.loss, "loss {first:?} -> {last:?}");
    assert!(
        last.pixel_accuracy > first.pixel_accuracy + 0.2,
        "{first:?} -> {last:?}"
    );
}

#[test]
fn bad_input_is_an_error() {
    let err = |r: lseg::Result<Batch>| r.unwrap_err().to_string();
    assert!(err(Batch::new(vec![0.0; 10], vec![0; 4], [1, 2, 2])).contains("needs 12 image"));
    assert!(err(Batch::new(vec![], vec![], [0, 32, 32])).contains("batch of 0"));
    let mut t = trainer(Optimizer::SGD);
    let step = |t: &mut Trainer, b: Batch| t.step(&[b]).unwrap_err().to_string();
    let off_grid = Batch::new(vec![0.0; 3 * 40 * 32], vec![0; 40 * 32], [1, 40, 32]).unwrap();
    assert!(step(&mut t, off_grid).contains("multiples of 32"));
    let bad_class = Batch::new(vec![0.0; 3 * 32 * 32], vec![4; 32 * 32], [1, 32, 32]).unwrap();
    assert!(step(&mut t, bad_class).contains("class 4 is not one of the 4 labels"));
    assert!(t.step(&[]).is_err());
    // Nothing was updated by the refused steps.
    assert_eq!(t.step_count(), 0);
    let half = LoadOptions {
        precision: Precision::F16,
        ..load_options()
    };
    let start = fixture("tiny_vit16.safetensors");
    let e = Trainer::new(&start, &LABELS, options(Optimizer::SGD), &half).unwrap_err();
    assert!(e.to_string().contains("f32"));
    assert!(Trainer::new(&start, &[""], options(Optimizer::SGD), &load_options()).is_err());
    // A state file of another optimiser is refused on resume.
    let dir = tempfile::tempdir().unwrap();
    let (ckpt, state) = (dir.path().join("c.safetensors"), dir.path().join("c.state"));
    let r = Reference::load();
    t.step(&small_batches(&r)[..1]).unwrap();
    t.save(&ckpt, &state).unwrap();
    let e = Trainer::resume(
        &ckpt,
        &state,
        &LABELS,
        options(Optimizer::ADAMW),
        &load_options(),
    )
    .unwrap_err();
    assert!(e.to_string().contains("momentum_buffer"), "{e}");
    let e = Trainer::resume(
        &ckpt,
        &ckpt,
        &LABELS,
        options(Optimizer::SGD),
        &load_options(),
    )
    .unwrap_err();
    assert!(
        e.to_string().contains("not an lseg train state file"),
        "{e}"
    );
}

/// The tensors of `src` under `prefix`, with the prefix taken off, as a safetensors file.
fn part_file(src: &std::path::Path, prefix: &str, out: &std::path::Path) {
    let f = WeightFile::open(src).unwrap();
    let w = f.parse().unwrap();
    let tensors: Vec<(String, Vec<usize>, Vec<u8>)> = w
        .tensors()
        .into_iter()
        .filter(|i| i.key.starts_with(prefix) && i.dtype == "F32")
        .map(|i| {
            let (v, shape) = w.read_f32(&i.key).unwrap();
            let bytes = v.iter().flat_map(|x| x.to_le_bytes()).collect();
            (i.key[prefix.len()..].to_string(), shape, bytes)
        })
        .collect();
    let views = tensors.iter().map(|(k, shape, b)| {
        let v = safetensors::tensor::TensorView::new(safetensors::Dtype::F32, shape.clone(), b);
        (k.clone(), v.unwrap())
    });
    safetensors::serialize_to_file(views, None, out).unwrap();
}

#[test]
fn initial_weights_put_pretrained_parts_over_random_ones() {
    let dir = tempfile::tempdir().unwrap();
    let start = fixture("tiny_vit16.safetensors");
    let (vit, clip) = (dir.path().join("vit.st"), dir.path().join("clip.st"));
    part_file(&start, VIT_PREFIX, &vit);
    part_file(&start, CLIP_PREFIX, &clip);
    let cfg = fixture_config("tiny_vit16");
    let (image, counts) =
        initial_weights(&cfg, &[(VIT_PREFIX, &vit), (CLIP_PREFIX, &clip)]).unwrap();
    // 4 blocks of 12 tensors + patch embedding (2), cls token, position embedding; the
    // fixture's final norm is not read by the model. The text tower: all of it.
    assert_eq!(counts[0], 4 * 12 + 4, "{counts:?}");
    assert!(counts[1] > 20, "{counts:?}");
    let init = WeightFile::from_vec(image);
    let (wi, f) = (init.parse().unwrap(), WeightFile::open(&start).unwrap());
    let wf = f.parse().unwrap();
    let same = |k: &str| wi.read_f32(k).unwrap().0 == wf.read_f32(k).unwrap().0;
    assert!(same("pretrained.model.blocks.3.mlp.fc2.weight"));
    assert!(same("pretrained.model.pos_embed"));
    assert!(same(
        "clip_pretrained.transformer.resblocks.1.attn.in_proj_weight"
    ));
    assert!(!same("scratch.head1.weight") && !same("pretrained.act_postprocess1.3.weight"));
    // It loads and trains (its config is in the metadata).
    let path = dir.path().join("init.safetensors");
    let image = initial_weights(&cfg, &[(VIT_PREFIX, &vit)]).unwrap().0;
    std::fs::write(&path, image).unwrap();
    let mut t = Trainer::new(
        &path,
        &LABELS,
        options(Optimizer::SGD),
        &LoadOptions::default(),
    )
    .unwrap();
    assert!(t.step(&[quadrants()]).unwrap().loss.is_finite());
    // Errors: a part of another shape (the ViT file under the text tower's prefix has no
    // matching key), a tensor of the wrong shape.
    let e = initial_weights(&cfg, &[(CLIP_PREFIX, &vit)]).unwrap_err();
    assert!(e.to_string().contains("no tensor the model reads"), "{e}");
    let wide = LsegConfig {
        features: 48,
        ..cfg.clone()
    };
    let small = lseg::LsegConfig {
        vit: lseg::VitConfig {
            embed_dim: 32,
            num_heads: 2,
            ..cfg.vit.clone()
        },
        ..wide
    };
    let e = initial_weights(&small, &[(VIT_PREFIX, &vit)]).unwrap_err();
    assert!(e.to_string().contains("pretrained.model."), "{e}");
}
