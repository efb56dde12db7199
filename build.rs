//! With the `tch` feature: embed libtorch's directory as an rpath in this package's tests,
//! examples and benches (no LD_LIBRARY_PATH needed), and pass it on to the build scripts of
//! the packages that depend on lseg (`DEP_LSEG_LIBTORCH_LIB`), which do the same.
fn main() {
    println!("cargo:rerun-if-changed=build.rs");
    if let Ok(lib) = std::env::var("DEP_TCH_LIBTORCH_LIB") {
        println!("cargo:rustc-link-arg=-Wl,-rpath,{lib}");
        println!("cargo:libtorch_lib={lib}");
    }
}
