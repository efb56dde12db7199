//! Every case of `clip_tokenizer_cases.json` (made with the official `clip.tokenize`).

mod common;

use lseg::ClipTokenizer;
use lseg::tokenizer::{CONTEXT_LENGTH, EOT, SOT};
use serde_json::Value;

fn cases() -> Value {
    let text = std::fs::read_to_string(common::fixture("clip_tokenizer_cases.json")).unwrap();
    serde_json::from_str(&text).unwrap()
}

fn ids(v: &Value) -> Vec<u32> {
    v.as_array()
        .unwrap()
        .iter()
        .map(|x| x.as_u64().unwrap() as u32)
        .collect()
}

#[test]
fn all_cases_match_clip_tokenize() {
    let tok = ClipTokenizer::global().unwrap();
    let c = cases();
    let cases = c["cases"].as_array().unwrap();
    assert!(cases.len() >= 40);
    let mut failures = Vec::new();
    for case in cases {
        let text = case["text"].as_str().unwrap();
        let want = ids(&case["ids"]);
        let got = tok.tokenize(text, false).unwrap();
        if got != want {
            failures.push(format!(
                "{text:?}: got {got:?} {:?}, want {want:?}",
                tok.pieces(&got)
            ));
        }
        // The BPE pieces too, where given.
        if let Some(p) = case.get("bpe_pieces") {
            let want_p: Vec<String> = p
                .as_array()
                .unwrap()
                .iter()
                .map(|s| s.as_str().unwrap().to_string())
                .collect();
            assert_eq!(tok.pieces(&want), want_p, "{text:?}");
        }
    }
    assert!(
        failures.is_empty(),
        "{} mismatches:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

#[test]
fn ade20k_labels_match() {
    let tok = ClipTokenizer::global().unwrap();
    let c = cases();
    let labels = c["ade20k_150"]["labels"].as_array().unwrap();
    assert_eq!(labels.len(), 150);
    for l in labels {
        let text = l["text"].as_str().unwrap();
        assert_eq!(tok.tokenize(text, false).unwrap(), ids(&l["ids"]), "{text}");
    }
}

#[test]
fn long_label_errors_unless_truncated() {
    let tok = ClipTokenizer::global().unwrap();
    let c = cases();
    let long = &c["long_string"];
    let text = long["text"].as_str().unwrap();
    let err = tok.tokenize(text, false).unwrap_err().to_string();
    assert!(err.contains("context length 77"), "{err}");
    let t = tok.tokenize(text, true).unwrap();
    assert_eq!(t, ids(&long["ids_truncate_true"]));
    assert_eq!(t.len(), CONTEXT_LENGTH);
    assert_eq!((t[0], t[76]), (SOT, EOT));
}

#[test]
fn batch_argmax_positions() {
    let tok = ClipTokenizer::global().unwrap();
    let c = cases();
    let b = &c["batch_example"];
    for (text, pos) in b["texts"]
        .as_array()
        .unwrap()
        .iter()
        .zip(b["argmax_positions"].as_array().unwrap())
    {
        let row = tok.tokenize(text.as_str().unwrap(), false).unwrap();
        let max = *row.iter().max().unwrap();
        assert_eq!(
            row.iter().position(|&t| t == max).unwrap() as u64,
            pos.as_u64().unwrap()
        );
    }
}
