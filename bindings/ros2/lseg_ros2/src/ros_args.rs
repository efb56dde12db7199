//! The ROS 2 command line (`--ros-args` as rcl reads it), so that `ros2 run`, `ros2 launch` and
//! a plain shell start the node the same way: `-p name:=value`, `--params-file FILE`,
//! `-r from:=to` (topic remaps, `__node:=`, `__ns:=`) and `--log-level LEVEL`. Values are YAML,
//! as in rcl: `true`, `3`, `0.5`, `[a, b]`, anything else a string.

use std::collections::BTreeMap;

use ros2_client::ParameterValue;
use yaml_rust2::{Yaml, YamlLoader};

/// What the command line asks of the node.
#[derive(Debug, Clone, PartialEq)]
pub struct RosArgs {
    /// Node name (`__node:=`), default `lseg`.
    pub node: String,
    /// Namespace (`__ns:=`), default `/`.
    pub namespace: String,
    /// Parameters: parameter files in order, then `-p`, later ones win.
    pub params: BTreeMap<String, ParameterValue>,
    /// Topic remaps, `from` as written (`image`, `~/image` or an absolute name).
    pub remaps: Vec<(String, String)>,
    /// Lowest severity logged: `debug`, `info`, `warn`, `error`, `fatal`.
    pub log_level: String,
}

impl RosArgs {
    /// Parse the arguments after the program name. Arguments outside `--ros-args ... [--]` are
    /// an error (the node has no options of its own).
    pub fn parse<S: AsRef<str>>(args: &[S]) -> Result<Self, String> {
        let mut out = Self {
            node: "lseg".into(),
            namespace: "/".into(),
            params: BTreeMap::new(),
            remaps: Vec::new(),
            log_level: "info".into(),
        };
        let mut cli_params = Vec::new();
        let mut files = Vec::new();
        let mut ros = false;
        let mut it = args.iter().map(AsRef::as_ref);
        while let Some(a) = it.next() {
            if !ros {
                if a == "--ros-args" {
                    ros = true;
                    continue;
                }
                return Err(format!(
                    "unexpected argument `{a}`: the node takes ROS arguments only \
                     (--ros-args -p weights:=FILE -p labels:=\"a, b\" -r image:=TOPIC)"
                ));
            }
            let mut value = |flag: &str| {
                it.next()
                    .ok_or_else(|| format!("{flag} needs a value"))
                    .map(str::to_string)
            };
            match a {
                "--" => ros = false,
                "--ros-args" => {}
                "-p" | "--param" => cli_params.push(value(a)?),
                "-r" | "--remap" => {
                    let rule = value(a)?;
                    let (from, to) = split_rule(&rule)?;
                    // `node:from:=to` applies to the node called `node` only.
                    let from = match from.split_once(':') {
                        Some((node, f)) if !f.starts_with(':') => {
                            if node != out.node {
                                continue;
                            }
                            f
                        }
                        _ => from,
                    };
                    match from {
                        "__node" | "__name" => out.node = to.to_string(),
                        "__ns" => out.namespace = normalise_ns(to),
                        _ => out.remaps.push((from.to_string(), to.to_string())),
                    }
                }
                // Read once the node's final name is known.
                "--params-file" => files.push(value(a)?),
                "--log-level" => {
                    let l = value(a)?;
                    // `--log-level name:=level` sets one logger; this node has one.
                    let level = l.rsplit_once(":=").map_or(l.as_str(), |(_, v)| v);
                    out.log_level = level.to_ascii_lowercase();
                }
                "-e" | "--enclave" => {
                    value(a)?;
                }
                "--enable-rosout-logs"
                | "--disable-rosout-logs"
                | "--enable-stdout-logs"
                | "--disable-stdout-logs"
                | "--enable-external-lib-logs"
                | "--disable-external-lib-logs" => {}
                _ => return Err(format!("unknown ROS argument `{a}`")),
            }
        }
        for path in files {
            let text =
                std::fs::read_to_string(&path).map_err(|e| format!("--params-file {path}: {e}"))?;
            out.merge_file(&path, &text)?;
        }
        for p in cli_params {
            let (name, v) = split_rule(&p)?;
            let value = parse_value(v).map_err(|e| format!("-p {p}: {e}"))?;
            out.params.insert(name.to_string(), value);
        }
        Ok(out)
    }

    /// The fully qualified node name, `/ns/node`.
    pub fn fully_qualified_node(&self) -> String {
        join(&self.namespace, &self.node)
    }

    /// The absolute name of one of the node's private topics/services (`~/name`), after
    /// the remaps: a rule matches when its `from` is `name`, `~/name` or the absolute name.
    pub fn resolve_private(&self, name: &str) -> String {
        let absolute = join(&self.fully_qualified_node(), name);
        let tilde = format!("~/{name}");
        for (from, to) in self.remaps.iter().rev() {
            if from == name || *from == tilde || *from == absolute {
                return if to.starts_with('/') {
                    to.clone()
                } else if let Some(rest) = to.strip_prefix("~/") {
                    join(&self.fully_qualified_node(), rest)
                } else {
                    join(&self.namespace, to)
                };
            }
        }
        absolute
    }

    /// Parameters of a YAML parameter file for this node: `node: {ros__parameters: {...}}`
    /// under the node's name, `/ns/node`, or the wildcards `/**` and `**`; nested maps give
    /// dotted names.
    fn merge_file(&mut self, path: &str, text: &str) -> Result<(), String> {
        let docs = YamlLoader::load_from_str(text).map_err(|e| format!("{path}: {e}"))?;
        let Some(Yaml::Hash(top)) = docs.into_iter().next() else {
            return Err(format!("{path}: expected a map of node names"));
        };
        for (key, body) in top {
            let Some(key) = key.as_str() else { continue };
            let fq = self.fully_qualified_node();
            let matches = ["/**", "**", self.node.as_str(), fq.as_str()].contains(&key)
                || key.trim_start_matches('/') == fq.trim_start_matches('/');
            if !matches {
                continue;
            }
            let Some(params) = body["ros__parameters"].as_hash() else {
                return Err(format!("{path}: `{key}` has no ros__parameters map"));
            };
            flatten(path, "", params, &mut self.params)?;
        }
        Ok(())
    }
}

fn flatten(
    path: &str,
    prefix: &str,
    map: &yaml_rust2::yaml::Hash,
    out: &mut BTreeMap<String, ParameterValue>,
) -> Result<(), String> {
    for (k, v) in map {
        let k = match k {
            Yaml::String(s) => s.clone(),
            Yaml::Integer(i) => i.to_string(),
            other => return Err(format!("{path}: parameter name {other:?} is not a string")),
        };
        let name = if prefix.is_empty() {
            k
        } else {
            format!("{prefix}.{k}")
        };
        match v {
            Yaml::Hash(h) => flatten(path, &name, h, out)?,
            v => {
                let value = to_value(v).map_err(|e| format!("{path}: {name}: {e}"))?;
                out.insert(name, value);
            }
        }
    }
    Ok(())
}

fn split_rule(rule: &str) -> Result<(&str, &str), String> {
    rule.split_once(":=")
        .filter(|(from, _)| !from.is_empty())
        .ok_or_else(|| format!("`{rule}` is not of the form name:=value"))
}

fn normalise_ns(ns: &str) -> String {
    let ns = ns.trim_end_matches('/');
    if ns.is_empty() {
        "/".into()
    } else if ns.starts_with('/') {
        ns.into()
    } else {
        format!("/{ns}")
    }
}

fn join(ns: &str, name: &str) -> String {
    format!("{}/{name}", ns.trim_end_matches('/'))
}

/// A parameter value written on the command line, read as YAML like rcl does.
pub fn parse_value(text: &str) -> Result<ParameterValue, String> {
    let docs = YamlLoader::load_from_str(text).map_err(|e| e.to_string())?;
    match docs.into_iter().next() {
        None => Ok(ParameterValue::String(String::new())),
        Some(y) => to_value(&y),
    }
}

fn to_value(y: &Yaml) -> Result<ParameterValue, String> {
    use ParameterValue as P;
    Ok(match y {
        Yaml::Boolean(b) => P::Boolean(*b),
        Yaml::Integer(i) => P::Integer(*i),
        Yaml::Real(r) => P::Double(r.parse().map_err(|_| format!("bad number {r}"))?),
        Yaml::String(s) => P::String(s.clone()),
        Yaml::Null => P::String(String::new()),
        Yaml::Array(items) => {
            if items.iter().all(|i| matches!(i, Yaml::Boolean(_))) && !items.is_empty() {
                P::BooleanArray(items.iter().filter_map(Yaml::as_bool).collect())
            } else if items.iter().all(|i| matches!(i, Yaml::Integer(_))) && !items.is_empty() {
                P::IntegerArray(items.iter().filter_map(Yaml::as_i64).collect())
            } else if items
                .iter()
                .all(|i| matches!(i, Yaml::Real(_) | Yaml::Integer(_)))
                && !items.is_empty()
            {
                P::DoubleArray(
                    items
                        .iter()
                        .map(|i| match i {
                            Yaml::Integer(n) => *n as f64,
                            other => other.as_f64().unwrap_or(f64::NAN),
                        })
                        .collect(),
                )
            } else {
                P::StringArray(
                    items
                        .iter()
                        .map(|i| match i {
                            Yaml::String(s) => Ok(s.clone()),
                            Yaml::Integer(n) => Ok(n.to_string()),
                            Yaml::Real(r) => Ok(r.clone()),
                            Yaml::Boolean(b) => Ok(b.to_string()),
                            other => Err(format!("array element {other:?} is not a scalar")),
                        })
                        .collect::<Result<_, _>>()?,
                )
            }
        }
        other => return Err(format!("unsupported value {other:?}")),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use ParameterValue as P;

    #[test]
    fn params_remaps_and_names() {
        let a = RosArgs::parse(&[
            "--ros-args",
            "-p",
            "weights:=/w.safetensors",
            "-p",
            "labels:=[grass, sky]",
            "-p",
            "size:=64",
            "-p",
            "min_period:=0.5",
            "-p",
            "publish_scores:=true",
            "-r",
            "__node:=seg",
            "-r",
            "__ns:=robot",
            "-r",
            "image:=/camera/image_raw",
            "-r",
            "other:mask:=/nope",
            "--log-level",
            "DEBUG",
        ])
        .unwrap();
        assert_eq!(a.params["weights"], P::String("/w.safetensors".into()));
        assert_eq!(
            a.params["labels"],
            P::StringArray(vec!["grass".into(), "sky".into()])
        );
        assert_eq!(a.params["size"], P::Integer(64));
        assert_eq!(a.params["min_period"], P::Double(0.5));
        assert_eq!(a.params["publish_scores"], P::Boolean(true));
        assert_eq!(a.fully_qualified_node(), "/robot/seg");
        assert_eq!(a.resolve_private("image"), "/camera/image_raw");
        assert_eq!(a.resolve_private("mask"), "/robot/seg/mask");
        assert_eq!(a.log_level, "debug");
    }

    #[test]
    fn params_file_for_this_node_and_wildcards() {
        let dir = tempfile::tempdir().unwrap();
        let f = dir.path().join("p.yaml");
        std::fs::write(
            &f,
            "/**:\n  ros__parameters:\n    size: 320\n    mode: single\n\
             lseg:\n  ros__parameters:\n    labels: \"a, b\"\n    palette: ['#ff0000']\n    \
             nested: {x: 1.5}\n\
             other_node:\n  ros__parameters:\n    size: 1\n",
        )
        .unwrap();
        let a = RosArgs::parse(&[
            "--ros-args",
            "--params-file",
            f.to_str().unwrap(),
            "-p",
            "mode:=multiscale",
        ])
        .unwrap();
        assert_eq!(a.params["size"], P::Integer(320));
        assert_eq!(a.params["labels"], P::String("a, b".into()));
        assert_eq!(a.params["palette"], P::StringArray(vec!["#ff0000".into()]));
        assert_eq!(a.params["nested.x"], P::Double(1.5));
        assert_eq!(a.params["mode"], P::String("multiscale".into()));
    }

    #[test]
    fn bad_command_lines_are_clear_errors() {
        for (args, want) in [
            (&["--weights", "x"][..], "unexpected argument"),
            (&["--ros-args", "-p"][..], "needs a value"),
            (&["--ros-args", "-p", "novalue"][..], "name:=value"),
            (&["--ros-args", "--bogus"][..], "unknown ROS argument"),
            (
                &["--ros-args", "--params-file", "/no/such.yaml"][..],
                "/no/such.yaml",
            ),
        ] {
            let e = RosArgs::parse(args).unwrap_err();
            assert!(e.contains(want), "{args:?}: {e}");
        }
    }
}
