//! `include/lseg.h` must be what cbindgen generates from the C ABI crate (`bindings/c/src`).
//!   cargo run --release --manifest-path bindings/c/header-check/Cargo.toml -- --check   (CI)
//!   cargo run --release --manifest-path bindings/c/header-check/Cargo.toml -- --write   (regenerate)
//! `bash bindings/c/gen-header.sh` runs the second.

use std::process::ExitCode;

fn main() -> ExitCode {
    let mode = std::env::args().nth(1).unwrap_or_default();
    if mode != "--check" && mode != "--write" {
        eprintln!("usage: lseg-header-check --check | --write");
        return ExitCode::from(2);
    }
    // The checkout is the working directory (gen-header.sh and the C tests run from the
    // repository root): not this binary's build-time path, which the shared target directory
    // may carry over from another checkout.
    let root = std::env::current_dir().expect("working directory");
    let capi = root.join("bindings/c");
    if !capi.join("cbindgen.toml").is_file() {
        eprintln!("lseg-header-check: run it from the repository root");
        return ExitCode::from(2);
    }
    let manifest = std::fs::read_to_string(root.join("Cargo.toml")).expect("Cargo.toml");
    let version = manifest
        .lines()
        .find_map(|l| l.strip_prefix("version = \""))
        .and_then(|v| v.strip_suffix('"'))
        .expect("version in Cargo.toml");
    let parts: Vec<&str> = version.split(['.', '-', '+']).collect();
    let mut config =
        cbindgen::Config::from_file(capi.join("cbindgen.toml")).expect("cbindgen.toml");
    // Version macros from the crate version (cbindgen cannot export string constants).
    config.after_includes = Some(format!(
        "\n/** Version of the lseg headers. */\n\
         #define LSEG_VERSION_MAJOR {}\n\
         #define LSEG_VERSION_MINOR {}\n\
         #define LSEG_VERSION_PATCH {}\n\
         #define LSEG_VERSION_STRING \"{version}\"",
        parts[0], parts[1], parts[2],
    ));
    let mut fresh = Vec::new();
    cbindgen::Builder::new()
        .with_config(config)
        .with_src(capi.join("src/lib.rs"))
        .generate()
        .expect("cbindgen failed on bindings/c/src")
        .write(&mut fresh);
    let fresh = String::from_utf8(fresh).unwrap();
    let path = root.join("include/lseg.h");
    if mode == "--write" {
        std::fs::write(&path, &fresh).unwrap();
        println!("include/lseg.h regenerated");
        return ExitCode::SUCCESS;
    }
    let committed = std::fs::read_to_string(&path).unwrap_or_default();
    if committed == fresh {
        println!("include/lseg.h is up to date");
        return ExitCode::SUCCESS;
    }
    let line = committed
        .lines()
        .zip(fresh.lines())
        .position(|(a, b)| a != b)
        .unwrap_or(committed.lines().count().min(fresh.lines().count()));
    eprintln!(
        "include/lseg.h is stale (first difference at line {}): regenerate it with \
         `bash bindings/c/gen-header.sh` and commit it",
        line + 1
    );
    ExitCode::FAILURE
}
