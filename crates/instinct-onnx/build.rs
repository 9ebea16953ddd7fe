//! Generates the ONNX protobuf types from `proto/onnx.proto` with protox (a pure-Rust protobuf
//! compiler: no `protoc` needed) and prost-build.

fn main() -> Result<(), Box<dyn std::error::Error>> {
    println!("cargo:rerun-if-changed=proto/onnx.proto");
    let descriptors = protox::compile(["onnx.proto"], ["proto"])?;
    prost_build::Config::new().compile_fds(descriptors)?;
    Ok(())
}
