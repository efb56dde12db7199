//! `include/lseg.h` must be what cbindgen generates from `src/capi/mod.rs` today.
//! `LSEG_BLESS=1 cargo test --release --test header` (or `bash .ci/gen-header.sh`) rewrites it.

use std::path::Path;

#[test]
fn committed_header_is_up_to_date() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut config =
        cbindgen::Config::from_file(root.join("cbindgen.toml")).expect("cbindgen.toml");
    // Version macros from the crate version (cbindgen cannot export string constants).
    config.after_includes = Some(format!(
        "\n/** Version of the lseg headers. */\n\
         #define LSEG_VERSION_MAJOR {}\n\
         #define LSEG_VERSION_MINOR {}\n\
         #define LSEG_VERSION_PATCH {}\n\
         #define LSEG_VERSION_STRING \"{}\"",
        env!("CARGO_PKG_VERSION_MAJOR"),
        env!("CARGO_PKG_VERSION_MINOR"),
        env!("CARGO_PKG_VERSION_PATCH"),
        env!("CARGO_PKG_VERSION"),
    ));
    let mut fresh = Vec::new();
    cbindgen::Builder::new()
        .with_config(config)
        .with_src(root.join("src/capi/mod.rs"))
        .generate()
        .expect("cbindgen failed on src/capi/mod.rs")
        .write(&mut fresh);
    let fresh = String::from_utf8(fresh).unwrap();
    let path = root.join("include/lseg.h");
    if std::env::var_os("LSEG_BLESS").is_some() {
        std::fs::write(&path, &fresh).unwrap();
        return;
    }
    let committed = std::fs::read_to_string(&path).unwrap_or_default();
    if committed != fresh {
        let line = committed
            .lines()
            .zip(fresh.lines())
            .position(|(a, b)| a != b)
            .unwrap_or(committed.lines().count().min(fresh.lines().count()));
        panic!(
            "include/lseg.h is stale (first difference at line {}): regenerate it with \
             `bash .ci/gen-header.sh` (LSEG_BLESS=1 cargo test --release --test header) and \
             commit it",
            line + 1
        );
    }
}
