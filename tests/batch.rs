//! `Lseg::segment_batch`: every result is `segment`'s for that image, in every mode; progress
//! and cancellation over the whole batch.

mod common;

use common::{fixture, fixture_config};
use lseg::{Error, ImageView, LoadOptions, Lseg, Mode, MultiScale, PixelFormat};

fn model() -> Lseg {
    let opts = LoadOptions {
        config: Some(fixture_config("tiny_vit16")),
        ..Default::default()
    };
    Lseg::load(fixture("tiny_vit16.safetensors"), &opts).unwrap()
}

/// Deterministic pictures of the given sizes.
fn pictures(sizes: &[(usize, usize)]) -> Vec<(Vec<u8>, usize, usize)> {
    sizes
        .iter()
        .enumerate()
        .map(|(k, &(w, h))| {
            let px = (0..w * h * 3)
                .map(|i| ((i * (7 + k) + i / (3 * w) * 13) % 251) as u8)
                .collect();
            (px, w, h)
        })
        .collect()
}

fn views(p: &[(Vec<u8>, usize, usize)]) -> Vec<ImageView<'_>> {
    p.iter()
        .map(|(px, w, h)| ImageView::packed(px, *w, *h, PixelFormat::Rgb8).unwrap())
        .collect()
}

#[test]
fn batch_results_are_the_single_results() {
    let m = model();
    let labels = m.encode_labels(&["dog", "grass", "other"]).unwrap();
    // Two pairs share a network input size (batched together), one is alone; ten of one
    // size exceed MAX_BATCH.
    let mut sizes = vec![(100, 70), (64, 96), (100, 70), (81, 40), (64, 96)];
    sizes.extend([(50, 40); 10]);
    let pics = pictures(&sizes);
    let images = views(&pics);
    let ms = MultiScale {
        base_size: 64,
        crop_size: 32,
        scales: vec![0.75, 1.0],
        flip: true,
    };
    for mode in [
        Mode::Single { size: Some(64) },
        Mode::Single { size: None },
        Mode::MultiScale(ms),
    ] {
        let batch = m.segment_batch(&images, &labels, &mode, None).unwrap();
        assert_eq!(batch.len(), images.len());
        for (i, (im, b)) in images.iter().zip(&batch).enumerate() {
            let one = m.segment(im, &labels, &mode, None).unwrap();
            assert_eq!(b.size(), one.size());
            assert_eq!(b.label_map(), one.label_map(), "image {i}, {mode:?}");
            let (x, y) = (b.scores_vec(), one.scores_vec());
            let err = x
                .iter()
                .zip(&y)
                .fold(0f32, |e, (a, b)| e.max((a - b).abs()));
            assert!(err < 1e-4, "image {i}, {mode:?}: scores differ by {err}");
        }
    }
    assert!(
        m.segment_batch(&[], &labels, &Mode::default(), None)
            .unwrap()
            .is_empty()
    );
}

#[test]
fn progress_and_cancel_cover_the_batch() {
    let m = model();
    let labels = m.encode_labels(&["dog", "other"]).unwrap();
    let pics = pictures(&[(64, 64), (64, 64), (40, 90)]);
    let images = views(&pics);
    let mode = Mode::Single { size: Some(64) };
    let mut seen = Vec::new();
    let mut record = |d: usize, t: usize| {
        seen.push((d, t));
        true
    };
    m.segment_batch(&images, &labels, &mode, Some(&mut record))
        .unwrap();
    assert_eq!(seen.last(), Some(&(3, 3)), "{seen:?}");
    assert!(seen.windows(2).all(|w| w[0].0 < w[1].0));
    let mut stop = |_: usize, _: usize| false;
    let e = m
        .segment_batch(&images, &labels, &mode, Some(&mut stop))
        .unwrap_err();
    assert!(matches!(e, Error::Cancelled));
    let ms = Mode::MultiScale(MultiScale {
        base_size: 64,
        crop_size: 32,
        scales: vec![1.0],
        flip: false,
    });
    let mut seen = Vec::new();
    let mut record = |d: usize, t: usize| {
        seen.push((d, t));
        true
    };
    m.segment_batch(&images, &labels, &ms, Some(&mut record))
        .unwrap();
    let total = images
        .iter()
        .map(|i| m.passes(&ms, i.height(), i.width()))
        .sum::<usize>();
    assert_eq!(seen.last(), Some(&(total, total)));
    assert!(seen.windows(2).all(|w| w[0].0 < w[1].0), "{seen:?}");
    let bad = Mode::Single { size: Some(0) };
    assert!(m.segment_batch(&images, &labels, &bad, None).is_err());
}

#[test]
fn embed_batch_results_are_the_single_results() {
    use lseg::{EmbedNorm, EmbedOptions, EmbedResolution};
    let m = model();
    let pics = pictures(&[(100, 70), (64, 96), (100, 70)]);
    let images = views(&pics);
    for opts in [
        EmbedOptions::default(),
        EmbedOptions {
            size: None,
            norm: EmbedNorm::Raw,
            resolution: EmbedResolution::Input,
        },
    ] {
        let batch = m.embed_batch(&images, &opts).unwrap();
        for (i, (im, b)) in images.iter().zip(batch).enumerate() {
            let one = m.embed_image(im, &opts).unwrap();
            assert_eq!(b.dims(), one.dims(), "image {i}");
            let (x, y) = (
                b.into_data().try_to_vec::<f32>().unwrap(),
                one.into_data().try_to_vec::<f32>().unwrap(),
            );
            let err = x
                .iter()
                .zip(&y)
                .fold(0f32, |e, (a, b)| e.max((a - b).abs()));
            assert!(err < 1e-4, "image {i}, {opts:?}: {err}");
        }
    }
    let bad = EmbedOptions {
        size: Some(0),
        ..Default::default()
    };
    assert!(m.embed_batch(&images, &bad).is_err());
}
