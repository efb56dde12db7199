//! The official multi-scale evaluator (`LSeg_MultiEvalModule.forward`) on `multiscale_tiny`.

mod common;

use common::*;
use lseg::{LoadOptions, Lseg, Mode, MultiScale};

#[test]
fn multiscale_matches_official_evaluator() {
    for backend in backends() {
        let opts = LoadOptions {
            backend: Some(backend),
            config: Some(fixture_config("tiny_vit16")),
            ..Default::default()
        };
        let model = Lseg::load(fixture("tiny_vit16.safetensors"), &opts).unwrap();
        let labels = model
            .encode_labels(&["dog", "grass", "other", "a red car", "sky"])
            .unwrap();
        let image = to_tensor::<4>(&reference("multiscale_tiny", "input.image"), model.device());
        let mode = Mode::MultiScale(MultiScale {
            base_size: 80,
            crop_size: 64,
            ..Default::default()
        });
        let mut calls = Vec::new();
        let mut progress = |d: usize, t: usize| {
            calls.push((d, t));
            true
        };
        let scores = model
            .scores(image, &labels, &mode, Some(&mut progress))
            .unwrap();
        // 20 module_inference calls, 40 network passes, as the fixture README says.
        assert_eq!(calls.last(), Some(&(40, 40)));
        check(
            &format!("multiscale_tiny/{backend}/scores"),
            &to_vec(&scores),
            &reference("multiscale_tiny", "scores"),
            1e-4,
        );
    }
}

#[test]
fn multiscale_can_be_cancelled() {
    let opts = LoadOptions {
        config: Some(fixture_config("tiny_vit16")),
        ..Default::default()
    };
    let model = Lseg::load(fixture("tiny_vit16.safetensors"), &opts).unwrap();
    let labels = model.encode_labels(&["dog", "sky"]).unwrap();
    let image = to_tensor::<4>(&reference("multiscale_tiny", "input.image"), model.device());
    let mode = Mode::MultiScale(MultiScale {
        base_size: 80,
        crop_size: 64,
        ..Default::default()
    });
    let mut stop = |d: usize, _t: usize| d < 4;
    let err = model
        .scores(image, &labels, &mode, Some(&mut stop))
        .unwrap_err();
    assert!(matches!(err, lseg::Error::Cancelled), "{err}");
}
