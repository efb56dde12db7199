//! Presets and config inference from the official tensor shapes.

use std::collections::BTreeMap;

use lseg::weights::infer_config_from_shapes;
use lseg::{Lseg, LsegConfig};

#[test]
fn official_configs_are_inferred_from_shapes() {
    for name in ["vitb32", "vitl16"] {
        let cfg = LsegConfig::preset(name).unwrap();
        let specs: BTreeMap<String, Vec<usize>> =
            Lseg::tensor_specs(&cfg).unwrap().into_iter().collect();
        assert_eq!(infer_config_from_shapes(&specs).unwrap(), cfg, "{name}");
        // The parameter count of the official ViT-L/16 LSeg (without the unused CLIP image
        // tower): about 0.4 G parameters, the 1.6 GB of the released float32 weights.
        let params: usize = specs.values().map(|s| s.iter().product::<usize>()).sum();
        eprintln!("{name}: {params} parameters read");
        if name == "vitl16" {
            assert!((390_000_000..420_000_000).contains(&params), "{params}");
        }

        // Ambiguous weights are refused with a reason.
        let mut with_block = specs.clone();
        with_block.insert(
            "scratch.head_block.depthwise.depthwise.weight".into(),
            vec![1, 1, 3, 3],
        );
        let e = infer_config_from_shapes(&with_block)
            .unwrap_err()
            .to_string();
        assert!(e.contains("arch_option"), "{e}");
        let mut no_project = specs.clone();
        no_project.retain(|k, _| !k.contains(".0.project."));
        let e = infer_config_from_shapes(&no_project)
            .unwrap_err()
            .to_string();
        assert!(e.contains("readout"), "{e}");
        let mut missing = specs.clone();
        missing.remove("scratch.head1.weight");
        let e = infer_config_from_shapes(&missing).unwrap_err().to_string();
        assert!(e.contains("scratch.head1.weight"), "{e}");
    }
}

#[test]
fn config_json_round_trip_and_validation() {
    for cfg in [LsegConfig::vitl16(), LsegConfig::vitb32()] {
        assert_eq!(LsegConfig::from_json(&cfg.to_json()).unwrap(), cfg);
    }
    let mut bad = LsegConfig::vitl16();
    bad.hooks = [5, 11, 17, 24];
    assert!(bad.validate().unwrap_err().to_string().contains("hooks"));
    let mut bad = LsegConfig::vitl16();
    bad.vit.num_heads = 7;
    assert!(bad.validate().is_err());
    assert!(LsegConfig::preset("vitx").is_err());
    assert!(LsegConfig::from_json("{").is_err());
}
