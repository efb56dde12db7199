//! With the `tch` feature, embed libtorch's directory as an rpath so binaries, tests and the
//! cdylib find libtorch without LD_LIBRARY_PATH. On Linux, give the cdylib the soname
//! `liblseg.so.<LSEG_ABI_VERSION>` (see src/capi/mod.rs).
fn main() {
    println!("cargo:rerun-if-changed=build.rs");
    if let Ok(lib) = std::env::var("DEP_TCH_LIBTORCH_LIB") {
        println!("cargo:rustc-link-arg=-Wl,-rpath,{lib}");
    }
    if std::env::var("CARGO_CFG_TARGET_OS").as_deref() == Ok("linux") {
        // Keep in step with LSEG_ABI_VERSION (checked by tests/capi.rs).
        println!("cargo:rustc-cdylib-link-arg=-Wl,-soname,liblseg.so.1");
    }
}
