//! Every shader the library and specialised modes emit for the fixtures parses, validates and
//! translates to every target naga writes; naga's errors name the line.

use instinct_format::{Limits, ModelInfo};
use instinct_wgsl::{
    GpuModel, Mode, Target, loop_iterations, specialized_library, standalone_shader, translate,
    validate_wgsl, wgsl_library,
};
use std::path::PathBuf;

/// Every conformance fixture's blob, with the fixture's path.
fn fixture_blobs() -> Vec<(String, GpuModel)> {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../fixtures/conformance");
    let mut blobs = Vec::new();
    for entry in std::fs::read_dir(&root).unwrap() {
        let path = entry.unwrap().path().join("model.json");
        if !path.exists() {
            continue;
        }
        let info = ModelInfo::from_json_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
        let model = instinct_validate::validate(&info, &Limits::default()).unwrap();
        blobs.push((
            path.display().to_string(),
            GpuModel::from_model(&model).unwrap(),
        ));
    }
    assert!(
        blobs.len() >= 10,
        "fixtures missing under {}",
        root.display()
    );
    blobs
}

/// The standalone shader around `library` validates and translates to every target.
fn validates_everywhere(library: &str, what: &str) {
    let shader =
        validate_wgsl(&standalone_shader(library)).unwrap_or_else(|e| panic!("{what}: {e}"));
    for target in [
        Target::Wgsl,
        Target::Spirv,
        Target::Msl,
        Target::Hlsl,
        Target::Glsl,
    ] {
        let out = translate(&shader, target, "main")
            .unwrap_or_else(|e| panic!("{what} {}: {e}", target.name()));
        assert!(!out.into_bytes().is_empty(), "{what} {}", target.name());
    }
}

#[test]
fn library_shaders_for_every_fixture_validate_and_translate() {
    let mut sizes: Vec<u32> = fixture_blobs()
        .iter()
        .map(|(_, blob)| blob.compute_buffer_size() as u32)
        .collect();
    sizes.sort();
    sizes.dedup();
    for size in sizes {
        let library = wgsl_library(size.next_power_of_two().max(64));
        validates_everywhere(&library, &format!("library for {size} values"));
    }
}

#[test]
fn specialized_shaders_for_every_fixture_validate_and_translate() {
    for (path, blob) in fixture_blobs() {
        validates_everywhere(&specialized_library(&blob), &path);
        assert!(
            loop_iterations(&blob, Mode::Specialized) <= loop_iterations(&blob, Mode::Library),
            "{path}"
        );
    }
}

#[test]
fn naga_errors_name_the_line() {
    let bad = "fn f() -> f32 {\n    return 1u + 2.0;\n}\n";
    let e = validate_wgsl(bad).unwrap_err().to_string();
    assert!(e.contains("wgsl:1:1") && e.contains("2 │"), "{e}");
    let e = validate_wgsl("fn f( {").unwrap_err().to_string();
    assert!(e.contains("parse"), "{e}");
}
