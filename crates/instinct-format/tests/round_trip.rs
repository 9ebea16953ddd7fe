//! Every Keras-exported fixture parses, and writing it back and reading it again gives the
//! identical model.

use instinct_format::{Limits, ModelInfo};
use std::path::PathBuf;

fn fixture_models() -> Vec<PathBuf> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../fixtures/instmodel-keras");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| {
            let name = p.file_name().unwrap().to_string_lossy().into_owned();
            name.ends_with(".json") && !name.ends_with(".expected.json") && name != "index.json"
        })
        .collect();
    files.sort();
    files
}

#[test]
fn every_fixture_round_trips() {
    let files = fixture_models();
    assert_eq!(files.len(), 9, "the nine instmodel-keras fixtures");
    for path in files {
        let info = ModelInfo::load(&path, &Limits::default()).unwrap();
        let again = ModelInfo::from_json_str(&info.to_json_string()).unwrap();
        assert_eq!(again, info, "{}", path.display());
        let pretty = ModelInfo::from_json_str(&info.to_json_pretty()).unwrap();
        assert_eq!(pretty, info, "{}", path.display());
    }
}

#[test]
fn save_writes_a_loadable_file_and_leaves_no_temporary() {
    let path = &fixture_models()[0];
    let info = ModelInfo::load(path, &Limits::default()).unwrap();
    let dir = std::env::temp_dir().join(format!("instinct-save-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let out = dir.join("model.json");
    info.save(&out).unwrap();
    assert_eq!(ModelInfo::load(&out, &Limits::default()).unwrap(), info);
    let names: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(names, vec![std::ffi::OsString::from("model.json")]);
    std::fs::remove_dir_all(&dir).unwrap();
}
