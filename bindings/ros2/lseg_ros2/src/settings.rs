//! The node's parameters: names, types, defaults, and which of them may change at run time.

use std::collections::BTreeMap;

use lseg::{Backend, Mode, MultiScale, Precision};
use ros2_client::ParameterValue;

/// Parameters read once at start (changing them needs a restart).
pub const STARTUP: [&str; 8] = [
    "weights",
    "backend",
    "dtype",
    "size",
    "mode",
    "threads",
    "palette",
    "publish_scores",
];
/// Parameters the node applies while running.
pub const DYNAMIC: [&str; 3] = ["labels", "min_period", "overlay_alpha"];
/// Parameters the node sets itself to report its state.
pub const REPORTED: [&str; 2] = ["label_names", "label_version"];

/// Everything the node is configured with.
#[derive(Debug, Clone)]
pub struct Settings {
    /// The `.safetensors` weights.
    pub weights: String,
    /// Compute backend; `None`: the build's default.
    pub backend: Option<Backend>,
    /// Weight and compute precision.
    pub precision: Precision,
    /// Single- or multi-scale protocol.
    pub mode: Mode,
    /// CPU threads, 0 = all cores.
    pub threads: usize,
    /// The initial label set.
    pub labels: Vec<String>,
    /// Minimum seconds between processed frames.
    pub min_period: f64,
    /// Weight of the label colours in `overlay`.
    pub overlay_alpha: f32,
    /// Label colours (`#rrggbb`), then lseg's palette.
    pub palette: Vec<String>,
    /// Offer `scores/K` topics.
    pub publish_scores: bool,
}

impl Settings {
    /// The settings of a parameter map; errors name the parameter and what it accepts.
    pub fn from_params(p: &BTreeMap<String, ParameterValue>) -> Result<Self, String> {
        let text = |name: &str, default: &str| match p.get(name) {
            None => Ok(default.to_string()),
            Some(ParameterValue::String(s)) => Ok(s.clone()),
            Some(v) => Err(format!("parameter {name} is {v:?}, expected a string")),
        };
        let weights = text("weights", "")?;
        if weights.is_empty() {
            return Err("parameter weights is not set: -p weights:=/path/model.safetensors".into());
        }
        let backend = match text("backend", "default")?.as_str() {
            "default" => None,
            b => Some(
                b.parse::<Backend>()
                    .map_err(|e| format!("parameter backend: {e}"))?,
            ),
        };
        let precision = text("dtype", "f32")?
            .parse::<Precision>()
            .map_err(|e| format!("parameter dtype: {e}"))?;
        let size = integer(p, "size", 480)?;
        let size = usize::try_from(size)
            .map_err(|_| format!("parameter size is {size}, expected >= 0"))?;
        let mode = match text("mode", "single")?.as_str() {
            "single" => Mode::Single {
                size: (size > 0).then_some(size),
            },
            "multiscale" => Mode::MultiScale(MultiScale::default()),
            m => {
                return Err(format!(
                    "parameter mode is \"{m}\", expected single or multiscale"
                ));
            }
        };
        mode.validate()
            .map_err(|e| format!("parameter size: {e}"))?;
        let threads = integer(p, "threads", 0)?;
        let threads = usize::try_from(threads)
            .map_err(|_| format!("parameter threads is {threads}, expected >= 0"))?;
        let labels = match p.get("labels") {
            None => vec!["other".to_string()],
            Some(v) => label_list(v)?,
        };
        let palette = match p.get("palette") {
            None => Vec::new(),
            Some(ParameterValue::StringArray(v)) => v.clone(),
            Some(ParameterValue::String(s)) if s.is_empty() => Vec::new(),
            Some(v) => {
                return Err(format!(
                    "parameter palette is {v:?}, expected a list of #rrggbb"
                ));
            }
        };
        crate::frame::palette(palette.len(), &palette)
            .map_err(|e| format!("parameter palette: {e}"))?;
        let publish_scores = match p.get("publish_scores") {
            None => false,
            Some(ParameterValue::Boolean(b)) => *b,
            Some(v) => {
                return Err(format!(
                    "parameter publish_scores is {v:?}, expected true or false"
                ));
            }
        };
        Ok(Self {
            weights,
            backend,
            precision,
            mode,
            threads,
            labels,
            min_period: min_period(p.get("min_period").unwrap_or(&ParameterValue::Double(0.0)))?,
            overlay_alpha: overlay_alpha(
                p.get("overlay_alpha")
                    .unwrap_or(&ParameterValue::Double(0.5)),
            )?,
            palette,
            publish_scores,
        })
    }

    /// The parameters the node declares: the given ones plus every default, so that
    /// `ros2 param list` shows them all.
    pub fn declared(
        &self,
        given: &BTreeMap<String, ParameterValue>,
    ) -> BTreeMap<String, ParameterValue> {
        use ParameterValue as P;
        let size = match &self.mode {
            Mode::Single { size } => size.unwrap_or(0) as i64,
            Mode::MultiScale(_) => 480,
        };
        let mut all: BTreeMap<String, ParameterValue> = [
            ("weights", P::String(self.weights.clone())),
            ("backend", P::String("default".into())),
            ("dtype", P::String("f32".into())),
            ("size", P::Integer(size)),
            ("mode", P::String("single".into())),
            ("threads", P::Integer(self.threads as i64)),
            ("palette", P::StringArray(self.palette.clone())),
            ("publish_scores", P::Boolean(self.publish_scores)),
            ("labels", P::StringArray(self.labels.clone())),
            ("min_period", P::Double(self.min_period)),
            ("overlay_alpha", P::Double(self.overlay_alpha as f64)),
            ("label_names", P::StringArray(Vec::new())),
            ("label_version", P::Integer(0)),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v))
        .collect();
        for (k, v) in given {
            all.insert(k.clone(), v.clone());
        }
        all
    }
}

fn integer(p: &BTreeMap<String, ParameterValue>, name: &str, default: i64) -> Result<i64, String> {
    match p.get(name) {
        None => Ok(default),
        Some(ParameterValue::Integer(i)) => Ok(*i),
        Some(v) => Err(format!("parameter {name} is {v:?}, expected an integer")),
    }
}

fn number(name: &str, v: &ParameterValue) -> Result<f64, String> {
    match v {
        ParameterValue::Double(d) => Ok(*d),
        ParameterValue::Integer(i) => Ok(*i as f64),
        v => Err(format!("parameter {name} is {v:?}, expected a number")),
    }
}

/// The `labels` parameter: a list, or one comma-separated string (lseg's list rule).
pub fn label_list(v: &ParameterValue) -> Result<Vec<String>, String> {
    match v {
        ParameterValue::StringArray(l) => Ok(l.clone()),
        ParameterValue::String(s) => Ok(lseg::labels::split_list(s)),
        v => Err(format!(
            "parameter labels is {v:?}, expected a list of strings or a comma-separated string"
        )),
    }
}

/// The `min_period` parameter: seconds, finite and >= 0.
pub fn min_period(v: &ParameterValue) -> Result<f64, String> {
    let s = number("min_period", v)?;
    if !(s.is_finite() && s >= 0.0) {
        return Err(format!(
            "parameter min_period is {s}, expected seconds >= 0"
        ));
    }
    Ok(s)
}

/// The `overlay_alpha` parameter: in `0..=1`.
pub fn overlay_alpha(v: &ParameterValue) -> Result<f32, String> {
    let a = number("overlay_alpha", v)?;
    if !(0.0..=1.0).contains(&a) {
        return Err(format!("parameter overlay_alpha is {a}, expected 0..1"));
    }
    Ok(a as f32)
}

#[cfg(test)]
mod tests {
    use super::*;
    use ParameterValue as P;

    fn params(kv: &[(&str, P)]) -> BTreeMap<String, P> {
        kv.iter().map(|(k, v)| (k.to_string(), v.clone())).collect()
    }

    #[test]
    fn defaults_and_values() {
        let s = Settings::from_params(&params(&[
            ("weights", P::String("w".into())),
            ("labels", P::String("grass, sky".into())),
            ("size", P::Integer(64)),
        ]))
        .unwrap();
        assert_eq!(s.labels, ["grass", "sky"]);
        assert_eq!(s.mode, Mode::Single { size: Some(64) });
        assert_eq!(
            (s.min_period, s.overlay_alpha, s.publish_scores),
            (0.0, 0.5, false)
        );
        let d = s.declared(&params(&[("weights", P::String("w".into()))]));
        assert_eq!(
            d["labels"],
            P::StringArray(vec!["grass".into(), "sky".into()])
        );
        for n in STARTUP.iter().chain(&DYNAMIC).chain(&REPORTED) {
            assert!(d.contains_key(*n), "{n}");
        }
    }

    #[test]
    fn bad_parameters_name_themselves() {
        let w = ("weights", P::String("w".into()));
        for (kv, want) in [
            (vec![], "weights is not set"),
            (
                vec![w.clone(), ("backend", P::String("gpu".into()))],
                "backend",
            ),
            (vec![w.clone(), ("dtype", P::String("f8".into()))], "dtype"),
            (vec![w.clone(), ("size", P::Integer(-1))], "size"),
            (vec![w.clone(), ("size", P::Integer(1 << 20))], "size"),
            (vec![w.clone(), ("mode", P::String("fast".into()))], "mode"),
            (vec![w.clone(), ("labels", P::Integer(3))], "labels"),
            (
                vec![w.clone(), ("min_period", P::Double(-1.0))],
                "min_period",
            ),
            (
                vec![w.clone(), ("overlay_alpha", P::Double(2.0))],
                "overlay_alpha",
            ),
            (
                vec![w.clone(), ("publish_scores", P::String("yes".into()))],
                "publish_scores",
            ),
        ] {
            let e = Settings::from_params(&params(&kv)).unwrap_err();
            assert!(e.contains(want), "{kv:?}: {e}");
        }
    }
}
