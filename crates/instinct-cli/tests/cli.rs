//! End-to-end tests of the `instinct` binary on the iris fixtures: exit codes, messages and
//! outputs of validate, inspect, predict and bench.

// The binary's own `.npy` reader and writer, so outputs can be read back and inputs written.
use instinct_io::npy;

use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::Command;

/// The tolerance of `iris_mlp.expected.json`'s own check (instmodel's validation tolerance).
const CLOSE: f32 = 1e-5;

/// What one run of the binary did.
struct Run {
    code: i32,
    stdout: String,
    stderr: String,
}

fn instinct(args: &[&str]) -> Run {
    let out = Command::new(env!("CARGO_BIN_EXE_instinct"))
        .args(args)
        .output()
        .expect("the binary runs");
    let run = Run {
        // `None` means a signal killed it, which is never right.
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    };
    assert!(
        !run.stderr.contains("panicked") && !run.stderr.contains("RUST_BACKTRACE"),
        "instinct {args:?} panicked:\n{}",
        run.stderr
    );
    run
}

/// Runs the binary and checks its exit code; for failures also that stderr starts with `error: `
/// and mentions `needle`.
fn check(args: &[&str], code: i32, needle: &str) -> Run {
    let run = instinct(args);
    assert_eq!(
        run.code, code,
        "instinct {args:?}\nstdout: {}\nstderr: {}",
        run.stdout, run.stderr
    );
    if code != 0 {
        assert!(
            run.stderr.starts_with("error: "),
            "stderr of {args:?}: {}",
            run.stderr
        );
        assert!(
            run.stderr.contains(needle),
            "stderr of {args:?} should mention {needle:?}: {}",
            run.stderr
        );
    }
    run
}

fn fixture(relative: &str) -> String {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../fixtures")
        .join(relative);
    path.to_str().expect("fixture paths are UTF-8").to_string()
}

fn model() -> String {
    fixture("instmodel-keras/iris_mlp.json")
}

/// A fresh directory under the system temp dir, removed when dropped.
struct TempDir(PathBuf);

impl TempDir {
    fn new(test: &str) -> TempDir {
        let dir = std::env::temp_dir().join(format!("instinct-cli-{}-{test}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        TempDir(dir)
    }

    /// Path of `name` inside the directory, as a string for the command line.
    fn path(&self, name: &str) -> String {
        self.0.join(name).to_str().unwrap().to_string()
    }

    fn write(&self, name: &str, contents: impl AsRef<[u8]>) -> String {
        let path = self.path(name);
        std::fs::write(&path, contents).unwrap();
        path
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn json(text: &str) -> Value {
    serde_json::from_str(text).unwrap_or_else(|e| panic!("not JSON ({e}): {text}"))
}

fn rows(value: &Value) -> Vec<Vec<f32>> {
    serde_json::from_value::<Vec<Vec<f32>>>(value.clone()).unwrap()
}

fn expected() -> Value {
    json(&std::fs::read_to_string(fixture("instmodel-keras/iris_mlp.expected.json")).unwrap())
}

fn assert_close(actual: &[Vec<f32>], expected: &[Vec<f32>], tolerance: f32) {
    assert_eq!(actual.len(), expected.len(), "row count");
    for (i, (a, e)) in actual.iter().zip(expected).enumerate() {
        assert_eq!(a.len(), e.len(), "row {i} length");
        for (x, y) in a.iter().zip(e) {
            assert!((x - y).abs() <= tolerance, "row {i}: {a:?} vs {e:?}");
        }
    }
}

/// The iris test rows as JSON rows (the CSV's four feature columns, without `target`).
fn iris_test_rows() -> Vec<Vec<f32>> {
    let mut reader = csv::Reader::from_path(fixture("data/iris_test.csv")).unwrap();
    reader
        .records()
        .map(|r| {
            r.unwrap()
                .iter()
                .take(4)
                .map(|f| f.parse().unwrap())
                .collect()
        })
        .collect()
}

/// The iris model with its first DOT's first weight row one value too long and the last bias one
/// value too long: two problems, both to be listed.
fn invalid_model(dir: &TempDir) -> String {
    let mut m = json(&std::fs::read_to_string(model()).unwrap());
    m["weights"][0][0]
        .as_array_mut()
        .unwrap()
        .push(Value::from(1.0));
    m["bias"][2].as_array_mut().unwrap().push(Value::from(0.0));
    dir.write("invalid.json", m.to_string())
}

#[test]
fn validate_summarizes_a_valid_model() {
    let run = check(&["validate", &model()], 0, "");
    assert!(run.stdout.contains("valid model"), "{}", run.stdout);
    assert!(
        run.stdout.contains("features       4 (4 input values)"),
        "{}",
        run.stdout
    );
    assert!(run.stdout.contains("output size    3"), "{}", run.stdout);
    assert!(run.stderr.is_empty());

    let report = json(&check(&["validate", &model(), "--json"], 0, "").stdout);
    assert_eq!(report["valid"], true);
    assert_eq!(
        (
            report["feature_size"].as_u64(),
            report["output_size"].as_u64()
        ),
        (Some(4), Some(3))
    );
    assert_eq!(
        (report["buffers"].as_u64(), report["instructions"].as_u64()),
        (Some(4), Some(3))
    );
    // 16×4 + 8×16 + 3×8 weights and 16 + 8 + 3 biases.
    assert_eq!(report["parameter_counts"]["weights"], 216);
    assert_eq!(report["parameter_counts"]["bias"], 27);
}

#[test]
fn validate_lists_every_diagnostic_with_its_path() {
    let dir = TempDir::new("validate-invalid");
    let bad = invalid_model(&dir);
    let run = check(&["validate", &bad], 1, "weights[0][0]");
    assert!(
        run.stderr.contains("problems") && run.stderr.contains("bias[2]"),
        "{}",
        run.stderr
    );

    let run = check(&["validate", &bad, "--json"], 1, "not a valid model");
    let report = json(&run.stdout);
    assert_eq!(report["valid"], false);
    let paths: Vec<&str> = report["diagnostics"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["path"].as_str().unwrap())
        .collect();
    assert!(
        paths.contains(&"weights[0][0]") && paths.iter().any(|p| p.starts_with("bias[2]")),
        "{paths:?}"
    );
    assert_eq!(
        report["diagnostics"][0]["kind"]
            .as_str()
            .map(|k| !k.is_empty()),
        Some(true)
    );

    // Other commands refuse the model the same way.
    check(&["inspect", &bad], 1, "weights[0][0]");
    check(
        &["predict", &bad, "--input", &fixture("data/iris_test.csv")],
        1,
        "weights[0][0]",
    );
}

#[test]
fn validate_reports_a_wrong_validation_row() {
    let dir = TempDir::new("validate-data");
    let mut m = json(&std::fs::read_to_string(model()).unwrap());
    m["validation_data"]["expected_outputs"][3][1] = Value::from(0.5);
    let path = dir.write("mismatch.json", m.to_string());
    check(
        &["validate", &path],
        1,
        "validation_data.expected_outputs[3][1]",
    );
}

#[test]
fn unreadable_models_exit_2() {
    let dir = TempDir::new("unreadable");
    let missing = dir.path("missing.json");
    check(&["validate", &missing], 2, "missing.json");
    let report = json(&check(&["validate", &missing, "--json"], 2, "missing.json").stdout);
    assert_eq!(report["valid"], false);
    assert!(report["error"].as_str().unwrap().contains("missing.json"));
    check(&["validate", &dir.path("")], 2, "directory");
    check(&["inspect", &missing], 2, "missing.json");
    check(&["bench", &missing, "--samples", "10"], 2, "missing.json");

    let malformed = dir.write("malformed.json", "{\n  \"features\": [\"a\",,\n");
    let run = check(&["validate", &malformed], 2, "line 2, column 20");
    assert!(run.stderr.contains("malformed.json"), "{}", run.stderr);
    let report = json(&check(&["validate", &malformed, "--json"], 2, "line 2").stdout);
    assert!(
        report["error"]
            .as_str()
            .unwrap()
            .contains("line 2, column 20"),
        "{report}"
    );
}

#[test]
fn usage_errors_exit_2_and_help_exits_0() {
    check(&[], 2, "requires a subcommand");
    check(&["frobnicate"], 2, "frobnicate");
    check(&["validate"], 2, "MODEL");
    check(&["bench", &model(), "--engine", "jit"], 2, "interp");
    check(&["bench", &model(), "--samples", "0"], 2, "--samples");
    check(
        &["predict", &model(), "--input", "x.csv", "--threads", "0"],
        2,
        "--threads",
    );
    assert!(check(&["--help"], 0, "").stdout.contains("validate"));
    assert!(
        check(&["predict", "--help"], 0, "")
            .stdout
            .contains("--output")
    );
}

#[test]
fn inspect_shows_buffers_instructions_and_costs() {
    let run = check(&["inspect", &model()], 0, "");
    for needle in [
        "sepal_length_cm",
        "input",
        "output",
        "w0 16×4",
        "SOFTMAX",
        "124 bytes",
        "465",
    ] {
        assert!(
            run.stdout.contains(needle),
            "inspect should show {needle:?}:\n{}",
            run.stdout
        );
    }

    let report = json(&check(&["inspect", &model(), "--json"], 0, "").stdout);
    let buffers = report["buffers"].as_array().unwrap();
    assert_eq!(buffers.len(), 4);
    assert_eq!(
        (&buffers[0]["input"], &buffers[0]["output"]),
        (&Value::from(true), &Value::from(false))
    );
    assert_eq!(
        (
            &buffers[3]["offset"],
            &buffers[3]["size"],
            &buffers[3]["output"]
        ),
        (&Value::from(28), &Value::from(3), &Value::from(true))
    );
    let instructions = report["instructions"].as_array().unwrap();
    assert_eq!(instructions[2]["type"], "DOT");
    assert_eq!(instructions[2]["activation"], "SOFTMAX");
    assert_eq!(instructions[1]["weights"]["rows"], 8);
    // DOT 2·rows·cols, RELU n, SOFTMAX 3·n.
    let flops = 2 * (16 * 4 + 8 * 16 + 3 * 8) + 16 + 8 + 3 * 3;
    assert_eq!(report["summary"]["flops_per_sample"], flops);
    let sum: u64 = instructions
        .iter()
        .map(|i| i["flops"].as_u64().unwrap())
        .sum();
    assert_eq!(sum, flops);
    assert_eq!(report["summary"]["memory_bytes_per_sample"], 31 * 4);
    assert_eq!(report["features"][3]["name"], "petal_width_cm");
}

#[test]
fn predict_json_matches_the_reference() {
    let dir = TempDir::new("predict-json");
    let expected = expected();
    let object = dir.write(
        "inputs.json",
        serde_json::json!({"inputs": expected["inputs"]}).to_string(),
    );
    let list = dir.write("list.json", expected["inputs"].to_string());
    let reference = rows(&expected["instmodel_rust"]);
    for input in [&object, &list] {
        for threads in ["1", "3"] {
            let run = check(
                &["predict", &model(), "--input", input, "--threads", threads],
                0,
                "",
            );
            assert_close(&rows(&json(&run.stdout)), &reference, CLOSE);
        }
    }
    // --output .json writes the same rows to a file and nothing to stdout.
    let out = dir.path("out.json");
    let run = check(
        &["predict", &model(), "--input", &list, "--output", &out],
        0,
        "",
    );
    assert!(run.stdout.is_empty());
    assert_close(
        &rows(&json(&std::fs::read_to_string(&out).unwrap())),
        &reference,
        CLOSE,
    );
}

#[test]
fn predict_reads_csv_by_column_name_and_in_order() {
    let dir = TempDir::new("predict-csv");
    let inputs = iris_test_rows();
    let from_json = {
        let path = dir.write("inputs.json", serde_json::to_string(&inputs).unwrap());
        rows(&json(
            &check(&["predict", &model(), "--input", &path], 0, "").stdout,
        ))
    };
    // The fixture: header with the four feature names and `target`, which is ignored.
    let run = check(
        &[
            "predict",
            &model(),
            "--input",
            &fixture("data/iris_test.csv"),
        ],
        0,
        "",
    );
    assert_eq!(rows(&json(&run.stdout)), from_json);

    // Columns in another order are matched by name.
    let mut shuffled =
        String::from("target,petal_width_cm,sepal_length_cm,petal_length_cm,sepal_width_cm\n");
    for r in &inputs {
        shuffled.push_str(&format!("1,{},{},{},{}\n", r[3], r[0], r[2], r[1]));
    }
    let path = dir.write("shuffled.csv", shuffled);
    let run = check(&["predict", &model(), "--input", &path], 0, "");
    assert_eq!(rows(&json(&run.stdout)), from_json);

    // Without a header the columns are the features in order.
    let plain: String = inputs
        .iter()
        .map(|r| format!("{},{},{},{}\n", r[0], r[1], r[2], r[3]))
        .collect();
    let path = dir.write("plain.csv", plain);
    let run = check(&["predict", &model(), "--input", &path], 0, "");
    assert_eq!(rows(&json(&run.stdout)), from_json);

    // NaN, infinities and empty cells are refused unless asked for; then they propagate.
    let path = dir.write("nan.csv", "NaN,1,2,3\n,1,2,3\n");
    check(
        &["predict", &model(), "--input", &path],
        1,
        "line 1, column 1: \"NaN\" is not a finite number; pass --allow-nonfinite",
    );
    let run = check(
        &["predict", &model(), "--input", &path, "--allow-nonfinite"],
        0,
        "",
    );
    // (RELU maps NaN to 0 as in instmodel, so this model's outputs stay finite.)
    assert_eq!(rows(&json(&run.stdout)).len(), 2, "{}", run.stdout);
    let path = dir.write(
        "named.csv",
        "petal_width_cm,sepal_width_cm,petal_length_cm,sepal_length_cm\n1,,2,3\n",
    );
    check(
        &["predict", &model(), "--input", &path],
        1,
        "line 2, column 2 (\"sepal_width_cm\"): the cell is empty",
    );
    let path = dir.write("huge.json", "[[1, 2, 3, 1e39]]");
    check(
        &["predict", &model(), "--input", &path],
        1,
        "row 1, column 4 (\"petal_width_cm\"): 1e39 is outside the range of 32-bit floats",
    );
}

#[test]
fn predict_writes_csv_json_and_npy_outputs() {
    let dir = TempDir::new("predict-outputs");
    let input = fixture("data/iris_test.csv");
    let from_stdout = rows(&json(
        &check(&["predict", &model(), "--input", &input], 0, "").stdout,
    ));

    let csv_out = dir.path("out.csv");
    check(
        &["predict", &model(), "--input", &input, "--output", &csv_out],
        0,
        "",
    );
    let text = std::fs::read_to_string(&csv_out).unwrap();
    let mut lines = text.lines();
    assert_eq!(lines.next(), Some("output_0,output_1,output_2"));
    let from_csv: Vec<Vec<f32>> = lines
        .map(|l| l.split(',').map(|v| v.parse().unwrap()).collect())
        .collect();
    assert_eq!(from_csv, from_stdout);

    let npy_out = dir.path("out.npy");
    check(
        &["predict", &model(), "--input", &input, "--output", &npy_out],
        0,
        "",
    );
    let m = npy::read(&std::fs::read(&npy_out).unwrap()).unwrap();
    assert_eq!((m.rows, m.cols), (30, 3));
    let from_npy: Vec<Vec<f32>> = m.values.chunks(3).map(<[f32]>::to_vec).collect();
    assert_eq!(from_npy, from_stdout);

    // No temporary file is left beside the outputs.
    let mut names: Vec<String> = std::fs::read_dir(&dir.0)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    assert_eq!(names, ["out.csv", "out.npy"]);
}

#[test]
fn predict_reads_npy_inputs() {
    let dir = TempDir::new("predict-npy");
    let expected = expected();
    let inputs = rows(&expected["inputs"]);
    let flat: Vec<f32> = inputs.iter().flatten().copied().collect();
    let path = dir.write(
        "inputs.npy",
        npy::write_f32(inputs.len(), 4, &flat).unwrap(),
    );
    let run = check(&["predict", &model(), "--input", &path], 0, "");
    assert_close(
        &rows(&json(&run.stdout)),
        &rows(&expected["instmodel_rust"]),
        CLOSE,
    );

    let wrong = dir.write("wrong.npy", npy::write_f32(2, 3, &[0.0; 6]).unwrap());
    check(
        &["predict", &model(), "--input", &wrong],
        1,
        "row 1 has 3 values",
    );
    let broken = dir.write("broken.npy", b"\x93NUMPY\x01\x00\x10\x00{'descr': '<i8'}");
    check(&["predict", &model(), "--input", &broken], 2, "broken.npy");
}

#[test]
fn bad_rows_exit_1_naming_the_row_and_write_nothing() {
    let dir = TempDir::new("bad-rows");
    let out = dir.path("out.csv");
    let csv = dir.write("short.csv", "sepal_length_cm,sepal_width_cm,petal_length_cm,petal_width_cm\n5.1,3.5,1.4,0.2\n4.6,3.1,1.5\n");
    check(
        &["predict", &model(), "--input", &csv, "--output", &out],
        1,
        "line 3 has 3 values",
    );
    assert!(!Path::new(&out).exists(), "no output after a bad row");

    let plain = dir.write("plain.csv", "5.1,3.5,1.4,0.2\n4.6,3.1,1.5,0.2,9\n");
    check(
        &["predict", &model(), "--input", &plain],
        1,
        "line 2 has 5 values, the model takes 4",
    );

    let json = dir.write("rows.json", "[[5.1, 3.5, 1.4, 0.2], [1, 2], [1, 2, 3, 4]]");
    check(
        &["predict", &model(), "--input", &json],
        1,
        "row 2 has 2 values, the model takes 4",
    );

    let text = dir.write("text.csv", "5.1,3.5,1.4,0.2\n4.6,abc,1.5,0.2\n");
    check(
        &["predict", &model(), "--input", &text],
        1,
        "line 2, column 2",
    );

    let missing = dir.write(
        "missing.csv",
        "sepal_length_cm,sepal_width_cm,petal_length_cm,target\n1,2,3,0\n",
    );
    check(
        &["predict", &model(), "--input", &missing],
        1,
        "\"petal_width_cm\"",
    );
}

#[test]
fn predict_file_problems_exit_2() {
    let dir = TempDir::new("predict-files");
    let input = fixture("data/iris_test.csv");
    check(
        &["predict", &model(), "--input", &dir.path("none.csv")],
        2,
        "none.csv",
    );
    check(
        &[
            "predict",
            &model(),
            "--input",
            &dir.write("rows.txt", "1,2,3,4\n"),
        ],
        2,
        "rows.txt",
    );
    let out = dir.path("out.xlsx");
    check(
        &["predict", &model(), "--input", &input, "--output", &out],
        2,
        ".csv, .json, .jsonl, .npy, .parquet, .arrow, .arrows",
    );
    assert!(!Path::new(&out).exists());
    check(
        &[
            "predict",
            &model(),
            "--input",
            &dir.write("bad.json", "[[1, 2,"),
        ],
        2,
        "line 1",
    );
    let unwritable = dir.path("no/such/dir/out.json");
    check(
        &[
            "predict",
            &model(),
            "--input",
            &input,
            "--output",
            &unwritable,
        ],
        2,
        "out.json",
    );
}

#[test]
fn bench_json_reports_the_measurement() {
    let run = check(
        &[
            "bench",
            &model(),
            "--samples",
            "300",
            "--threads",
            "2",
            "--seed",
            "7",
            "--json",
        ],
        0,
        "",
    );
    let report = json(&run.stdout);
    for field in ["samples_per_sec", "gflops", "ns_per_sample"] {
        assert!(
            report[field]
                .as_f64()
                .is_some_and(|x| x > 0.0 && x.is_finite()),
            "{field}: {report}"
        );
    }
    assert_eq!(report["threads"], 2);
    assert_eq!(report["engine"], "auto");
    assert_eq!(report["samples"], 300);
    assert_eq!(report["flops_per_sample"], 465);
    assert_eq!(report["model"], model());

    let text = check(
        &["bench", &model(), "--samples", "100", "--engine", "interp"],
        0,
        "",
    )
    .stdout;
    assert!(
        text.contains("samples/s") && text.contains("GFLOP/s") && text.contains("ns/sample"),
        "{text}"
    );
}

#[test]
fn rows_with_a_million_outputs_are_predicted_and_written() {
    let dir = TempDir::new("huge-output");
    // One input gathered into every one of 999,999 outputs (a chunk of such rows is one row;
    // before streaming, 300 of them were refused as too large for memory).
    let indexes = vec!["0"; 999_999].join(",");
    let wide = dir.write(
        "wide.json",
        format!(
            r#"{{"feature_size":1,"buffer_sizes":[1,999999],"instructions":[{{"type":"COPY_MASKED","input":0,"output":1,"indexes":[{indexes}]}}],"weights":[],"bias":[]}}"#
        ),
    );
    let rows = dir.write("rows.csv", "1\n2\n3\n");
    let out = dir.path("out.npy");
    check(
        &["predict", &wide, "--input", &rows, "--output", &out],
        0,
        "",
    );
    let matrix = npy::read(&std::fs::read(&out).unwrap()).unwrap();
    assert_eq!((matrix.rows, matrix.cols), (3, 999_999));
    assert_eq!(matrix.values[999_999 * 2 + 5], 3.0);
}

#[test]
fn an_npy_of_absurd_row_count_is_refused() {
    let dir = TempDir::new("absurd-npy");
    let one_input = dir.write(
        "one.json",
        r#"{"feature_size":1,"buffer_sizes":[1,1],"instructions":[{"type":"COPY","input":0,"output":1,"internal_index":0}],"weights":[],"bias":[]}"#,
    );
    // 10^18 rows announced, none present: refused from the header, nothing allocated.
    let mut header = String::from(
        "{'descr': '<f4', 'fortran_order': False, 'shape': (1000000000000000000, 1), }",
    );
    while (10 + header.len() + 1) % 64 != 0 {
        header.push(' ');
    }
    header.push('\n');
    let mut bytes = b"\x93NUMPY\x01\x00".to_vec();
    bytes.extend_from_slice(&(header.len() as u16).to_le_bytes());
    bytes.extend_from_slice(header.as_bytes());
    let path = dir.write("huge.npy", bytes);
    check(
        &["predict", &one_input, "--input", &path],
        2,
        "but the file has 0 bytes of data",
    );
}

#[test]
fn the_static_engine_runs_its_shapes_and_names_why_it_does_not_apply() {
    let tiny = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../instinct-cpu/examples/tiny_2_7_relu_1.json")
        .to_str()
        .expect("UTF-8")
        .to_string();
    let dir = TempDir::new("static");
    let rows: Vec<Vec<f32>> = (0..257)
        .map(|i| vec![(i as f32 * 0.37).sin() * 3.0, (i as f32 * 0.11).cos() * 2.0])
        .collect();
    let input = dir.write("rows.json", serde_json::to_string(&rows).unwrap());
    let input = input.as_str();
    let run = |engine: &str| {
        let out = check(
            &[
                "predict",
                &tiny,
                "-i",
                input,
                "--engine",
                engine,
                "--threads",
                "2",
            ],
            0,
            "",
        );
        crate::rows(&json(&out.stdout))
    };
    let interp = run("interp");
    assert_eq!(interp.len(), 257);
    assert_close(&run("static"), &interp, 1e-5);
    assert_close(&run("auto"), &interp, 1e-5);

    let report = json(
        &check(
            &[
                "bench",
                &tiny,
                "--samples",
                "1000",
                "--engine",
                "auto",
                "--json",
            ],
            0,
            "",
        )
        .stdout,
    );
    assert_eq!(report["engine"], "auto");
    assert_eq!(report["ran"], "static");
    let report = json(&check(&["bench", &model(), "--samples", "100", "--json"], 0, "").stdout);
    assert_eq!(report["ran"], "batch", "auto falls back to batch: {report}");

    check(
        &["predict", &model(), "-i", input, "--engine", "static"],
        1,
        "--engine static does not apply: the model's dense layers are 4→",
    );
    check(
        &["bench", &model(), "--samples", "10", "--engine", "static"],
        1,
        "this binary has static nets for 2→7→1, 8→32→32→1",
    );
    let inspect = check(&["inspect", &tiny], 0, "").stdout;
    assert!(
        inspect.contains("static engine  applies (2→7→1)"),
        "{inspect}"
    );
}

#[test]
fn the_batched_engine_times_many_copies_and_only_in_bench() {
    let run = check(
        &[
            "bench",
            &model(),
            "--engine",
            "batched",
            "--models",
            "37",
            "--inputs-per-model",
            "3",
            "--samples",
            "1000",
            "--threads",
            "1",
            "--json",
        ],
        0,
        "",
    );
    let report = json(&run.stdout);
    assert_eq!(report["engine"], "batched");
    assert_eq!(report["models"], 37);
    assert_eq!(report["inputs_per_model"], 3);
    // A sample is one input of one model: 37 × 3 per call.
    assert_eq!(report["samples"], 111);
    assert!(
        report["command"]
            .as_str()
            .is_some_and(|c| c.contains("--engine batched --models 37 --inputs-per-model 3")),
        "{report}"
    );
    let dir = TempDir::new("batched");
    let input = dir.write("x.csv", "0,0,0,0\n");
    check(
        &["predict", &model(), "-i", &input, "--engine", "batched"],
        1,
        "time it with `instinct bench MODEL --engine batched",
    );
    let not_chain = dir.write(
        "not_chain.json",
        r#"{"feature_size":2,"buffer_sizes":[2,1],"instructions":[{"type":"ADD_ELEMENTWISE","input":0,"parameters":0},{"type":"DOT","input":0,"output":1,"weights":0}],"weights":[[[1.0,1.0]]],"bias":[[0.0]],"parameters":[[1.0,2.0]]}"#,
    );
    check(
        &["bench", &not_chain, "--engine", "batched", "--models", "2"],
        1,
        "--engine batched does not apply",
    );
}

#[test]
fn wgsl_writes_shaders_that_naga_accepts_in_every_target() {
    let dir = TempDir::new("wgsl");
    for mode in ["specialized", "library"] {
        let out = dir.path(&format!("{mode}.wgsl"));
        let run = check(&["wgsl", &model(), "--mode", mode, "-o", &out], 0, "");
        assert!(
            run.stderr.contains("loop iterations per sample"),
            "{}",
            run.stderr
        );
        let source = std::fs::read_to_string(&out).unwrap();
        assert!(source.contains("fn predict(model_offset: u32"));
        assert!(source.contains("@compute"));
        instinct::wgsl::validate_wgsl(&source).unwrap();
    }
    // Just the functions, on stdout.
    let run = check(&["wgsl", &model(), "--library-only"], 0, "");
    assert!(run.stdout.contains("fn get_output_start(") && !run.stdout.contains("@compute"));
    let spv = dir.path("model.spv");
    check(&["wgsl", &model(), "--target", "spirv", "-o", &spv], 0, "");
    let bytes = std::fs::read(&spv).unwrap();
    assert_eq!(&bytes[..4], &0x0723_0203u32.to_le_bytes(), "SPIR-V magic");
    for target in ["msl", "hlsl", "glsl"] {
        let run = check(&["wgsl", &model(), "--target", target], 0, "");
        assert!(run.stdout.len() > 1000, "{target}");
    }
    check(
        &["wgsl", &model(), "--library-only", "--target", "spirv"],
        2,
        "--library-only",
    );
    check(&["wgsl", &dir.path("missing.json")], 2, "missing.json");
}

#[test]
fn predict_on_the_gpu_names_its_engine_and_matches_the_interpreter() {
    let dir = TempDir::new("predict-gpu");
    let probe = instinct(&[
        "predict",
        &model(),
        "--input",
        &fixture("data/iris_test.csv"),
        "--engine",
        "gpu",
    ]);
    if probe.code != 0 {
        assert!(
            std::env::var("INSTINCT_REQUIRE_GPU").as_deref() != Ok("1"),
            "INSTINCT_REQUIRE_GPU=1 but --engine gpu failed: {}",
            probe.stderr
        );
        return eprintln!("skipping: {}", probe.stderr);
    }
    // A softmax over 30,000 values is past Mesa's loop budget for one sample per invocation;
    // the gather makes it something other than a chain of DOTs.
    let wide = 30_000;
    let over = serde_json::json!({
        "feature_size": 3,
        "buffer_sizes": [3, wide, 5],
        "instructions": [
            {"type": "DOT", "input": 0, "output": 1, "weights": 0},
            {"type": "ACTIVATION", "input": 1, "activation": "SOFTMAX"},
            {"type": "COPY_MASKED", "input": 1, "output": 2, "indexes": [0, 7000, 14000, 21000, 29999]},
            {"type": "MUL_ELEMENTWISE", "input": 2, "parameters": 0},
        ],
        "weights": [(0..wide).map(|o| [(o % 7) as f32 * 0.3, (o % 11) as f32 * -0.2, 0.1]).collect::<Vec<_>>()],
        "bias": [(0..wide).map(|o| (o % 5) as f32 * 0.1).collect::<Vec<_>>()],
        "parameters": [[30_000.0, 30_000.0, 30_000.0, 30_000.0, 30_000.0]],
    });
    let over = dir.write("over.json", over.to_string());
    let small_rows = dir.write(
        "rows3.json",
        serde_json::to_string(&[[0.5f32, -1.0, 2.0], [1.5, 0.25, -0.75], [0.0, 0.0, 0.0]]).unwrap(),
    );
    let branchy = fixture("conformance/keras_branchy/model.json");
    let branchy_expected =
        json(&std::fs::read_to_string(fixture("conformance/keras_branchy/expected.json")).unwrap());
    let branchy_rows = dir.write("rows10.json", branchy_expected["inputs"].to_string());
    let iris_rows = dir.write(
        "iris.json",
        serde_json::to_string(&iris_test_rows()).unwrap(),
    );
    for (model, input, engine) in [
        (model(), iris_rows, "layer by layer"),
        (branchy, branchy_rows, "one invocation per sample"),
        (over, small_rows, "stepped"),
    ] {
        let run = |engine| {
            check(
                &["predict", &model, "--input", &input, "--engine", engine],
                0,
                "",
            )
        };
        let gpu = run("gpu");
        assert!(gpu.stderr.contains(engine), "{model}: {}", gpu.stderr);
        let cpu = rows(&json(&run("interp").stdout));
        let gpu = rows(&json(&gpu.stdout));
        assert_eq!(gpu.len(), cpu.len());
        for (g, c) in gpu.iter().flatten().zip(cpu.iter().flatten()) {
            assert!(
                (g - c).abs() <= 1e-4 + 1e-4 * c.abs(),
                "{model}: GPU {g}, CPU {c}"
            );
        }
    }
}

#[test]
fn train_writes_a_valid_classifier_that_predicts_probabilities() {
    let dir = TempDir::new("train");
    let out = dir.path("iris.json");
    let png = dir.path("curves.png");
    let run = check(
        &[
            "train",
            "--data",
            &fixture("data/iris_train.csv"),
            "--target",
            "target",
            "--test",
            &fixture("data/iris_test.csv"),
            "--hidden",
            "16",
            "--epochs",
            "60",
            "--out",
            &out,
            "--plot",
            &png,
        ],
        0,
        "",
    );
    for needle in [
        "classes in output order: 0, 1, 2",
        "test accuracy",
        "validation_data: 10 rows",
    ] {
        assert!(run.stderr.contains(needle), "{needle}: {}", run.stderr);
    }
    check(&["validate", &out], 0, "");
    assert_eq!(&std::fs::read(&png).unwrap()[..8], b"\x89PNG\r\n\x1a\n");
    let predicted = rows(&json(
        &check(
            &["predict", &out, "--input", &fixture("data/iris_test.csv")],
            0,
            "",
        )
        .stdout,
    ));
    assert_eq!(predicted.len(), 30);
    for row in &predicted {
        assert_eq!(row.len(), 3);
        let total: f32 = row.iter().sum();
        assert!((total - 1.0).abs() < 1e-5, "{row:?}");
    }
    // The classes are stored as the model's labels: inspect shows them, --label uses them.
    let labels = &json(&std::fs::read_to_string(&out).unwrap())["labels"];
    assert_eq!(labels, &serde_json::json!([0, 1, 2]));
    let inspected = check(&["inspect", &out], 0, "").stdout;
    assert!(inspected.contains("class labels   0, 1, 2"), "{inspected}");
    let labelled = check(
        &[
            "predict",
            &out,
            "-i",
            &fixture("data/iris_test.csv"),
            "--label",
            "-o",
            "-",
            "--output-format",
            "csv",
        ],
        0,
        "",
    )
    .stdout;
    let mut lines = labelled.lines();
    assert_eq!(lines.next(), Some("label,0,1,2"));
    for (line, row) in lines.zip(&predicted) {
        let best = (0..3).fold(0, |b, c| if row[c] > row[b] { c } else { b });
        assert_eq!(
            line.split(',').next(),
            Some(best.to_string().as_str()),
            "{line}"
        );
    }
    // A label column may not share a name with an output; --top-k needs at least one class.
    let mut named = json(&std::fs::read_to_string(&out).unwrap());
    named["output_names"] = serde_json::json!(["label", "b", "c"]);
    let named = dir.write("named.json", named.to_string());
    let iris = fixture("data/iris_test.csv");
    check(
        &["predict", &named, "-i", &iris, "--label"],
        1,
        "the model has an output named \"label\"",
    );
    check(
        &["predict", &out, "-i", &iris, "--top-k", "0"],
        2,
        "--top-k",
    );
}

/// `fixtures/data/iris_{part}.csv` with the class numbers 0, 1, 2 written as species names.
fn iris_with_species(dir: &TempDir, part: &str) -> String {
    let text = std::fs::read_to_string(fixture(&format!("data/iris_{part}.csv"))).unwrap();
    let mut lines = text.lines();
    let mut out = format!(
        "{},species\n",
        lines.next().unwrap().rsplit_once(',').unwrap().0
    );
    for line in lines {
        let (features, class) = line.rsplit_once(',').unwrap();
        let name = ["setosa", "versicolor", "virginica"][class.parse::<f32>().unwrap() as usize];
        out.push_str(&format!("{features},{name}\n"));
    }
    dir.write(&format!("iris_{part}_species.csv"), &out)
}

#[test]
fn train_on_a_text_target_stores_the_classes_and_labels_by_them() {
    let dir = TempDir::new("train-text");
    let (train, test) = (
        iris_with_species(&dir, "train"),
        iris_with_species(&dir, "test"),
    );
    let out = dir.path("species.json");
    let run = check(
        &[
            "train", "--data", &train, "--target", "species", "--test", &test, "--hidden", "16",
            "--epochs", "80", "--out", &out,
        ],
        0,
        "classes in output order: setosa, versicolor, virginica",
    );
    let labels = &json(&std::fs::read_to_string(&out).unwrap())["labels"];
    assert_eq!(
        labels,
        &serde_json::json!(["setosa", "versicolor", "virginica"])
    );
    let inspected = check(&["inspect", &out], 0, "").stdout;
    assert!(
        inspected.contains("class labels   setosa, versicolor, virginica"),
        "{inspected}"
    );
    // The species column is not a feature of the model: predict ignores it, --keep copies it.
    let labelled = check(
        &[
            "predict",
            &out,
            "-i",
            &test,
            "--keep",
            "species",
            "--label",
            "-o",
            "-",
            "--output-format",
            "csv",
        ],
        0,
        "",
    )
    .stdout;
    let mut lines = labelled.lines();
    assert_eq!(
        lines.next(),
        Some("species,label,setosa,versicolor,virginica")
    );
    let mut right = 0;
    for line in lines {
        let cells: Vec<&str> = line.split(',').collect();
        let p: Vec<f32> = cells[2..].iter().map(|c| c.parse().unwrap()).collect();
        let best = (0..3).fold(0, |b, c| if p[c] > p[b] { c } else { b });
        assert_eq!(
            cells[1],
            ["setosa", "versicolor", "virginica"][best],
            "{line}"
        );
        right += usize::from(cells[0] == cells[1]);
    }
    // The labels predict gives are the ones train scored the test set by.
    let accuracy = format!("test accuracy {:.4} (30 rows)", right as f32 / 30.0);
    assert!(run.stderr.contains(&accuracy), "{accuracy}: {}", run.stderr);
    // A regression on text is refused before training, naming the first cell that is text.
    check(
        &[
            "train",
            "--data",
            &train,
            "--target",
            "species",
            "--task",
            "regress",
            "--out",
            &dir.path("never.json"),
        ],
        1,
        "iris_train_species.csv: line 2, column \"species\": \"",
    );
}

#[test]
fn train_with_leaky_relu_writes_the_format_extension() {
    let dir = TempDir::new("train-leaky");
    let out = dir.path("iris.json");
    let run = check(
        &[
            "train",
            "--data",
            &fixture("data/iris_train.csv"),
            "--target",
            "target",
            "--activation",
            "leaky-relu",
            "--hidden",
            "8",
            "--epochs",
            "20",
            "--out",
            &out,
        ],
        0,
        "",
    );
    assert!(
        run.stderr.contains("extension LEAKY_RELU"),
        "{}",
        run.stderr
    );
    let text = std::fs::read_to_string(&out).unwrap();
    assert!(text.contains(r#"{"LEAKY_RELU":{"alpha":0.01}}"#), "{text}");
    // Its embedded validation rows are checked on load, through the extension.
    check(&["validate", &out], 0, "");
    check(
        &["predict", &out, "--input", &fixture("data/iris_test.csv")],
        0,
        "",
    );
}

#[test]
fn train_regresses_in_the_target_units() {
    let dir = TempDir::new("train-regress");
    let out = dir.path("diabetes.json");
    let run = check(
        &[
            "train",
            "--data",
            &fixture("data/diabetes_train.csv"),
            "--target",
            "target",
            "--test",
            &fixture("data/diabetes_test.csv"),
            "--hidden",
            "16",
            "--epochs",
            "40",
            "--out",
            &out,
        ],
        0,
        "",
    );
    assert!(run.stderr.contains("regress: 353 rows"), "{}", run.stderr);
    assert!(run.stderr.contains("test MSE"), "{}", run.stderr);
    check(&["validate", &out], 0, "");
    let predicted = rows(&json(
        &check(
            &[
                "predict",
                &out,
                "--input",
                &fixture("data/diabetes_test.csv"),
            ],
            0,
            "",
        )
        .stdout,
    ));
    // Disease progression is 25..346: predictions in that scale, not standardised.
    let mean = predicted.iter().map(|r| r[0]).sum::<f32>() / predicted.len() as f32;
    assert!((80.0..250.0).contains(&mean), "mean prediction {mean}");
}

#[test]
fn train_refuses_bad_data_with_a_clear_error() {
    let dir = TempDir::new("train-bad");
    let out = dir.path("never.json");
    let cases = [
        ("no-target.csv", "a,b\n1,2\n3,4\n", "no column \"target\""),
        ("text.csv", "a,target\n1,0\nx,1\n", "line 3, column \"a\""),
        ("one-class.csv", "a,target\n1,0\n2,0\n", "one class only"),
        ("empty.csv", "a,target\n", "no data rows"),
        ("ragged.csv", "a,target\n1,0\n2\n", "line 3"),
    ];
    for (name, text, needle) in cases {
        let data = dir.write(name, text);
        check(
            &[
                "train", "--data", &data, "--target", "target", "--task", "classify", "--out", &out,
            ],
            1,
            needle,
        );
        assert!(!Path::new(&out).exists(), "{name}: a model was written");
    }
    check(
        &[
            "train",
            "--data",
            &dir.path("missing.csv"),
            "--target",
            "target",
            "--out",
            &out,
        ],
        2,
        "missing.csv",
    );
    let good = dir.write("good.csv", "a,target\n1,0\n2,1\n3,0\n4,1\n");
    check(
        &[
            "train", "--data", &good, "--target", "target", "--lr", "0", "--out", &out,
        ],
        2,
        "positive learning rate",
    );
    check(
        &[
            "train", "--data", &good, "--target", "target", "--hidden", "0", "--out", &out,
        ],
        2,
        "--hidden",
    );
    check(
        &[
            "train",
            "--data",
            &good,
            "--target",
            "target",
            "--hidden",
            "100000,100000",
            "--out",
            &out,
        ],
        2,
        "weights",
    );
    check(
        &[
            "train",
            "--data",
            &good,
            "--target",
            "target",
            "--patience",
            "0",
            "--out",
            &out,
        ],
        2,
        "--patience",
    );
    let bracket = dir.write("bracket.csv", "a[2],target\n1,0\n2,1\n");
    check(
        &[
            "train", "--data", &bracket, "--target", "target", "--out", &out,
        ],
        1,
        "a[2]",
    );
    assert!(!Path::new(&out).exists());
}

#[test]
fn convert_writes_a_model_from_onnx_or_lists_what_it_cannot() {
    let dir = TempDir::new("convert");
    let out = dir.path("mlp.json");
    let run = check(
        &[
            "convert",
            &fixture("onnx/skl_mlp_classifier_relu_2.onnx"),
            "-o",
            &out,
        ],
        0,
        "",
    );
    assert!(run.stderr.contains("4 inputs, 3 outputs"), "{}", run.stderr);
    assert!(!run.stderr.contains("extensions"), "{}", run.stderr);
    check(&["validate", &out], 0, "");
    // A graph needing the format's extensions converts, and says so.
    let leaky = dir.path("leaky.json");
    let run = check(
        &[
            "convert",
            &fixture("onnx/torch_log_softmax_head.onnx"),
            "-o",
            &leaky,
        ],
        0,
        "",
    );
    assert!(
        run.stderr.contains("format extensions (LOG_SOFTMAX)"),
        "{}",
        run.stderr
    );
    check(&["validate", &leaky], 0, "");
    // A weight that is a graph input: exit 1, the node and the reason named.
    check(
        &[
            "convert",
            &fixture("onnx/unsupported/runtime_weights.onnx"),
            "-o",
            &dir.path("never.json"),
        ],
        1,
        "\"/0/MatMul\"",
    );
    // Unsupported: exit 1, the node named.
    let never = dir.path("never.json");
    check(
        &[
            "convert",
            &fixture("onnx/unsupported/torch_sequential_softsign.onnx"),
            "-o",
            &never,
        ],
        1,
        "\"/1/Softsign\"",
    );
    assert!(!Path::new(&never).exists());
    // Not ONNX, or missing: exit 2.
    let bytes = std::fs::read(fixture("onnx/keras_dense_stack.onnx")).unwrap();
    let cut = dir.write("cut.onnx", &bytes[..bytes.len() / 2]);
    check(&["convert", &cut, "-o", &never], 2, "not an ONNX model");
    check(
        &["convert", &dir.path("missing.onnx"), "-o", &never],
        2,
        "missing.onnx",
    );
    assert!(!Path::new(&never).exists());
}

#[test]
fn os_errors_are_printed_once_with_the_path_and_onnx_models_point_to_convert() {
    let dir = TempDir::new("os-errors");
    let missing = dir.path("missing.csv");
    let model_path = model();
    let cases: [(&[&str], &str); 4] = [
        (
            &["predict", &model_path, "--input", &missing],
            "missing.csv",
        ),
        (&["predict", "nope.json", "--input", &missing], "nope.json"),
        (&["validate", "nope.json"], "nope.json"),
        (&["convert", "nope.onnx", "-o", &missing], "nope.onnx"),
    ];
    for (args, path) in cases {
        let run = check(args, 2, path);
        assert_eq!(
            run.stderr.matches("No such file or directory").count(),
            1,
            "{args:?}: {}",
            run.stderr
        );
        assert_eq!(run.stderr.lines().count(), 1, "{args:?}: {}", run.stderr);
    }
    let onnx = fixture("onnx/keras_dense_stack.onnx");
    for command in ["predict", "validate", "inspect"] {
        let mut args = vec![command, onnx.as_str()];
        if command == "predict" {
            args.extend(["--input", "rows.csv"]);
        }
        check(&args, 2, "convert it first with `instinct convert");
    }
    // clap's suggestions stay on.
    check(&["prdict"], 2, "a similar subcommand exists: 'predict'");
}

#[test]
fn train_checks_everything_that_could_fail_after_training_before_it_starts() {
    let dir = TempDir::new("train-early");
    let good = dir.write("good.csv", "a,b,target\n1,2,0\n2,1,1\n3,0,0\n4,5,1\n");
    let out = dir.path("model.json");
    let train = |extra: &[&str]| {
        let mut args = vec![
            "train", "--data", &good, "--target", "target", "--epochs", "2",
        ];
        args.extend_from_slice(extra);
        args.iter().map(|s| s.to_string()).collect::<Vec<_>>()
    };
    let missing_dir = dir.path("no/such/dir/model.json");
    let gif = dir.path("curves.gif");
    let cases: [(Vec<String>, &str); 5] = [
        (train(&["--out", &missing_dir]), "does not exist"),
        (
            train(&["--out", &out, "--plot", &gif]),
            "must end in .png or .svg",
        ),
        (
            train(&["--out", &out, "--hidden", "3000,3500"]),
            "more than the format's limit of 10000000",
        ),
        (
            train(&["--out", &out, "--hidden", "20000000"]),
            "more than the format's limit of 1000000",
        ),
        (train(&["--out", &dir.path("")]), "is a directory"),
    ];
    for (args, needle) in cases {
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let run = check(&args, 2, needle);
        assert!(!run.stderr.contains("trained"), "{args:?} trained first");
        assert!(!Path::new(&out).exists(), "{args:?} wrote a model");
    }
    let twice = dir.write("twice.csv", "a,a,target\n1,2,0\n2,1,1\n");
    check(
        &[
            "train", "--data", &twice, "--target", "target", "--out", &out,
        ],
        1,
        "names column \"a\" more than once",
    );
    // Both plot formats are real files of their kind.
    for (name, magic) in [("c.png", &b"\x89PNG"[..]), ("c.svg", &b"<svg"[..])] {
        let plot = dir.path(name);
        let args = train(&["--out", &out, "--plot", &plot]);
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        check(&args, 0, "");
        let bytes = std::fs::read(&plot).expect("the plot is written");
        assert!(
            bytes.windows(magic.len()).take(200).any(|w| w == magic),
            "{name} does not look like its format"
        );
    }
}

/// Runs the binary with `stdin` as its standard input; the exit code and raw stdout.
fn instinct_with_stdin(args: &[&str], stdin: &[u8]) -> (i32, Vec<u8>, String) {
    use std::io::Write as _;
    let mut child = Command::new(env!("CARGO_BIN_EXE_instinct"))
        .args(args)
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("the binary runs");
    let mut input = child.stdin.take().unwrap();
    let bytes = stdin.to_vec();
    let feeder = std::thread::spawn(move || {
        // The binary may stop reading early (an error): a closed pipe is not this test's failure.
        let _ = input.write_all(&bytes);
    });
    let out = child.wait_with_output().unwrap();
    feeder.join().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(!stderr.contains("panicked"), "{stderr}");
    (out.status.code().unwrap_or(-1), out.stdout, stderr)
}

#[test]
fn a_pipe_gives_the_same_bytes_as_the_files() {
    let dir = TempDir::new("pipes");
    let input = fixture("data/iris_test.csv");
    // Arrow on a pipe is the stream layout, which `.arrows` files hold too.
    for format in ["csv", "json", "jsonl", "npy", "parquet", "arrows"] {
        let out = dir.path(&format!("out.{format}"));
        check(&["predict", &model(), "-i", &input, "-o", &out], 0, "");
        let from_file = std::fs::read(&out).unwrap();
        let (code, piped, stderr) = instinct_with_stdin(
            &[
                "predict",
                &model(),
                "--input",
                "-",
                "--input-format",
                "csv",
                "--output",
                "-",
                "--output-format",
                format,
            ],
            &std::fs::read(&input).unwrap(),
        );
        assert_eq!(code, 0, "{stderr}");
        assert_eq!(piped, from_file, "{format}");
    }
    // Standard input has no extension to go by.
    let (code, _, stderr) = instinct_with_stdin(&["predict", &model(), "-i", "-"], b"1,2,3,4\n");
    assert_eq!(code, 2);
    assert!(stderr.contains("give --input-format"), "{stderr}");
    // A bad row in a pipe names its line, as in a file.
    let (code, _, stderr) = instinct_with_stdin(
        &["predict", &model(), "-i", "-", "--input-format", "csv"],
        b"1,2,3,4\n1,2,x,4\n",
    );
    assert_eq!(code, 1);
    assert!(stderr.contains("<stdin>: line 2, column 3"), "{stderr}");
}

#[test]
fn parquet_and_arrow_written_by_pyarrow_give_the_csv_outputs() {
    let dir = TempDir::new("columnar");
    let from_csv = check(
        &[
            "predict",
            &model(),
            "-i",
            &fixture("data/iris_test.csv"),
            "-o",
            "-",
            "--output-format",
            "csv",
        ],
        0,
        "",
    )
    .stdout;
    let inputs = [
        "iris_test.parquet",
        "iris_test_zstd.parquet",
        "iris_test.arrow",
        "iris_test.arrows",
    ];
    for name in inputs {
        let input = fixture(&format!("data/{name}"));
        let args = [
            "predict",
            &model(),
            "-i",
            &input,
            "--keep",
            "id",
            "--keep",
            "species",
        ];
        let out = dir.path("out.csv");
        check(&[&args[..], &["-o", &out]].concat(), 0, "");
        let text = std::fs::read_to_string(&out).unwrap();
        // The kept columns first, then the outputs the CSV input gives.
        let mut lines = text.lines();
        assert_eq!(
            lines.next(),
            Some("id,species,output_0,output_1,output_2"),
            "{name}"
        );
        let outputs: Vec<&str> = lines
            .clone()
            .map(|l| l.splitn(3, ',').nth(2).unwrap())
            .collect();
        assert_eq!(
            outputs,
            from_csv.lines().skip(1).collect::<Vec<_>>(),
            "{name}"
        );
        assert!(lines.next().unwrap().starts_with("100,setosa,"), "{name}");

        // Parquet and Arrow outputs read back as the same numbers.
        for format in ["parquet", "arrow"] {
            let out = dir.path(&format!("out.{format}"));
            check(&[&args[..], &["-o", &out]].concat(), 0, "");
            let back = check(&["predict", &model(), "-i", &out, "--keep", "id"], 1, "").stderr;
            // The outputs are not the model's features: every one of them is named missing.
            assert!(back.contains("no column \"sepal_length_cm\""), "{back}");
            let read = instinct_io::read_rows(
                Path::new(&out),
                instinct_io::DataFormat::of(Path::new(&out), "input").unwrap(),
                &instinct_io::Columns::new(
                    3,
                    Some(vec![
                        "output_0".into(),
                        "output_1".into(),
                        "output_2".into(),
                    ]),
                ),
                instinct_io::ReadOptions::default(),
            )
            .unwrap();
            let shown: Vec<String> = read
                .values
                .chunks(3)
                .map(|r| {
                    r.iter()
                        .map(|v| format!("{v:?}"))
                        .collect::<Vec<_>>()
                        .join(",")
                })
                .collect();
            let want: Vec<String> = from_csv
                .lines()
                .skip(1)
                .map(|l| {
                    l.split(',')
                        .map(|v| format!("{:?}", v.parse::<f32>().unwrap()))
                        .collect::<Vec<_>>()
                        .join(",")
                })
                .collect();
            assert_eq!(shown, want, "{name} -> {format}");
        }
    }
    // A text column as a feature, a missing column, a file that is not Parquet.
    let species_model = dir.write(
        "species.json",
        std::fs::read_to_string(model())
            .unwrap()
            .replace("\"petal_width_cm\"", "\"species\""),
    );
    check(
        &[
            "predict",
            &species_model,
            "-i",
            &fixture("data/iris_test.parquet"),
        ],
        1,
        "column 6 (\"species\") holds Utf8 values, not numbers",
    );
    check(
        &[
            "predict",
            &model(),
            "-i",
            &fixture("data/iris_test.parquet"),
            "--keep",
            "when",
        ],
        1,
        "no column \"when\"",
    );
    let fake = dir.write("fake.parquet", "a,b\n1,2\n");
    check(
        &["predict", &model(), "-i", &fake],
        2,
        "not a readable Parquet file",
    );
}

#[test]
fn label_equals_what_scikit_learn_predicts_for_converted_classifiers() {
    let dir = TempDir::new("labels");
    let onnx = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fixtures/onnx");
    let (mut checked, mut texts) = (0, 0);
    for entry in std::fs::read_dir(&onnx).unwrap() {
        let path = entry.unwrap().path();
        let name = path.file_name().unwrap().to_str().unwrap().to_string();
        let Some(stem) = name.strip_suffix(".expected.json") else {
            continue;
        };
        let expected = json(&std::fs::read_to_string(&path).unwrap());
        // scikit-learn's predict() where the generator stored it, else skl2onnx's label output
        // (`output_label`, or `label` with zipmap off: ONNX Runtime's, which equals predict());
        // integer classes as integers, text as text.
        let Some(want) = expected.get("predict").cloned().or_else(|| {
            let outputs = &expected["outputs"];
            let rows = outputs.get("output_label").or(outputs.get("label"))?;
            let rows = rows.as_array()?;
            Some(rows.iter().map(|row| row[0].clone()).collect())
        }) else {
            continue;
        };
        let want: Vec<Value> = want
            .as_array()
            .unwrap()
            .iter()
            // ONNX Runtime's int64 labels were written as floats (2.0): whole ones are integers.
            .map(|label| match label.as_f64() {
                Some(n) if n.fract() == 0.0 => Value::from(n as i64),
                _ => label.clone(),
            })
            .collect();
        let model = dir.path(&format!("{stem}.json"));
        check(
            &[
                "convert",
                onnx.join(format!("{stem}.onnx")).to_str().unwrap(),
                "-o",
                &model,
            ],
            0,
            "",
        );
        let inspected = check(&["inspect", &model], 0, "").stdout;
        // inspect prints the line for every model: with labels, not "none".
        assert!(inspected.contains("class labels"), "{inspected}");
        assert!(
            !inspected.contains("not a labelled classifier"),
            "{inspected}"
        );
        let inputs = dir.write("inputs.json", expected["inputs"].to_string());
        let out = check(
            &[
                "predict",
                &model,
                "-i",
                &inputs,
                "--label",
                "--top-k",
                "2",
                "-o",
                "-",
                "--output-format",
                "jsonl",
            ],
            0,
            "",
        )
        .stdout;
        let rows: Vec<Value> = out.lines().map(json).collect();
        texts += usize::from(want.iter().any(Value::is_string));
        let got: Vec<Value> = rows.iter().map(|r| r["label"].clone()).collect();
        assert_eq!(got, want, "{stem}");
        for row in &rows {
            // The best class is the label, and its probability is the largest output.
            assert_eq!(row["label_1"], row["label"], "{stem}");
            let p1 = row["probability_1"].as_f64().unwrap();
            let p2 = row["probability_2"].as_f64().unwrap();
            assert!(p1 >= p2, "{stem}: {row}");
            let column = match &row["label"] {
                Value::String(text) => text.clone(),
                number => number.to_string(),
            };
            assert_eq!(row[&column].as_f64(), Some(p1), "{stem}: {row}");
        }
        checked += 1;
    }
    assert!(checked >= 23, "only {checked} classifiers with labels");
    assert!(texts >= 5, "only {texts} classifiers with text labels");
    // A .npy output has no room for the label column, and says so by its name.
    let classifier = dir.path("skl_mlp_classifier_relu_2.json");
    let inputs = dir.path("inputs.json");
    check(
        &[
            "predict",
            &classifier,
            "-i",
            &inputs,
            "--label",
            "-o",
            &dir.path("out.npy"),
        ],
        1,
        "cannot hold the columns \"label\"",
    );
    // A model without labels cannot give them.
    check(
        &[
            "predict",
            &model(),
            "-i",
            &fixture("data/iris_test.csv"),
            "--label",
        ],
        1,
        "need a classifier's class labels",
    );
}

#[test]
fn kept_columns_come_first_and_columns_match_by_name_in_every_format() {
    let dir = TempDir::new("keep");
    let inputs = iris_test_rows();
    let names = [
        "sepal_length_cm",
        "sepal_width_cm",
        "petal_length_cm",
        "petal_width_cm",
    ];
    let expected = {
        let path = dir.write("inputs.json", serde_json::to_string(&inputs).unwrap());
        rows(&json(
            &check(&["predict", &model(), "-i", &path], 0, "").stdout,
        ))
    };
    // CSV with an id column (text kept verbatim, quotes where needed) in shuffled order.
    let mut csv =
        String::from("petal_width_cm,id,sepal_length_cm,extra,petal_length_cm,sepal_width_cm\n");
    let mut jsonl = String::new();
    for (i, r) in inputs.iter().enumerate() {
        csv.push_str(&format!(
            "{},\"id, {i}\",{},x,{},{}\n",
            r[3], r[0], r[2], r[1]
        ));
        let mut object = serde_json::Map::new();
        object.insert("id".into(), Value::from(i));
        for (name, v) in names.iter().zip(r) {
            object.insert(name.to_string(), Value::from(*v));
        }
        jsonl.push_str(&format!("{}\n", Value::Object(object)));
    }
    let csv_in = dir.write("in.csv", &csv);
    let csv_out = dir.path("out.csv");
    check(
        &[
            "predict",
            &model(),
            "-i",
            &csv_in,
            "-o",
            &csv_out,
            "--keep",
            "id",
        ],
        0,
        "",
    );
    let text = std::fs::read_to_string(&csv_out).unwrap();
    let mut lines = text.lines();
    assert_eq!(lines.next(), Some("id,output_0,output_1,output_2"));
    for (i, (line, want)) in lines.zip(&expected).enumerate() {
        let prefix = format!("\"id, {i}\",");
        assert!(line.starts_with(&prefix), "{line}");
        let got: Vec<f32> = line[prefix.len()..]
            .split(',')
            .map(|v| v.parse().unwrap())
            .collect();
        assert_eq!(&got, want);
    }
    // JSON Lines objects, in and out: the id stays a number.
    let jsonl_in = dir.write("in.jsonl", &jsonl);
    let jsonl_out = dir.path("out.jsonl");
    check(
        &[
            "predict",
            &model(),
            "-i",
            &jsonl_in,
            "-o",
            &jsonl_out,
            "--keep",
            "id",
        ],
        0,
        "",
    );
    let text = std::fs::read_to_string(&jsonl_out).unwrap();
    for (i, (line, want)) in text.lines().zip(&expected).enumerate() {
        let object: Value = serde_json::from_str(line).unwrap();
        assert_eq!(object["id"], Value::from(i));
        let got: Vec<f32> = (0..3)
            .map(|j| object[format!("output_{j}")].as_f64().unwrap() as f32)
            .collect();
        assert_eq!(&got, want);
    }
    // JSON records read like JSON Lines.
    let records: Vec<Value> = jsonl
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let records_in = dir.write("records.json", serde_json::to_string(&records).unwrap());
    let run = check(&["predict", &model(), "-i", &records_in], 0, "");
    assert_eq!(rows(&json(&run.stdout)), expected);
    // Every missing column is named, kept ones included; exit 1.
    let missing = dir.write("missing.csv", "sepal_length_cm,petal_width_cm\n1,2\n");
    let run = check(
        &["predict", &model(), "-i", &missing, "--keep", "id"],
        1,
        "no column",
    );
    for name in ["\"id\"", "\"sepal_width_cm\"", "\"petal_length_cm\""] {
        assert!(run.stderr.contains(name), "{}", run.stderr);
    }
    // A .npy output cannot hold kept columns: said before any work.
    check(
        &[
            "predict",
            &model(),
            "-i",
            &csv_in,
            "-o",
            &dir.path("o.npy"),
            "--keep",
            "id",
        ],
        1,
        "cannot hold the columns \"id\" beside the outputs",
    );
}

#[test]
fn quantize_writes_an_int8_model_that_every_command_takes() {
    let dir = TempDir::new("quantize");
    let f32_model = fixture("int8/trained_digits.json");
    let out = dir.path("digits.int8");
    let calibration = fixture("data/digits_train.csv");
    // Columns are matched to the model's features by name; the target column is not one.
    let run = check(
        &[
            "quantize",
            &f32_model,
            "--calibration",
            &calibration,
            "-o",
            &out,
            "--json",
        ],
        0,
        "",
    );
    assert!(
        run.stderr.contains("quantized 3 of 3 dense layers"),
        "{}",
        run.stderr
    );
    assert!(
        run.stderr.contains("largest output agrees on"),
        "{}",
        run.stderr
    );
    let report = json(&run.stdout);
    assert_eq!(report["layers"].as_array().unwrap().len(), 3);
    assert_eq!(report["expected_error"]["rows"], 1437);
    // A file named anything is recognised by its content.
    check(&["validate", &out], 0, "");
    let inspect = check(&["inspect", &out], 0, "").stdout;
    assert!(
        inspect.contains("int8 layers") && inspect.contains("expected error"),
        "{inspect}"
    );
    let scores = dir.path("scores.csv");
    let test = fixture("data/digits_test.csv");
    check(
        &[
            "predict", &out, "-i", &test, "-o", &scores, "--keep", "target", "--label",
        ],
        0,
        "",
    );
    let text = std::fs::read_to_string(&scores).unwrap();
    let right = text
        .lines()
        .skip(1)
        .filter(|l| {
            let cells: Vec<&str> = l.split(',').collect();
            cells[0].parse::<f32>().unwrap() == cells[1].parse::<f32>().unwrap()
        })
        .count();
    assert!(right as f32 / 360.0 >= 0.96, "{right} of 360 right");
    // Static ranges with a percentile.
    let out_static = dir.path("digits.static.json");
    let run = check(
        &[
            "quantize",
            &f32_model,
            "--calibration",
            &calibration,
            "-o",
            &out_static,
            "--activations",
            "static",
            "--method",
            "percentile",
            "--percentile",
            "99.9",
        ],
        0,
        "",
    );
    assert!(run.stderr.contains("percentile ranges"), "{}", run.stderr);
}

#[test]
fn quantize_refuses_what_it_cannot_do() {
    let dir = TempDir::new("quantize-refusals");
    let int8 = fixture("int8/trained_digits.q.json");
    let calibration = fixture("data/digits_train.csv");
    let out = dir.path("again.json");
    check(
        &["quantize", &int8, "--calibration", &calibration, "-o", &out],
        1,
        "quantized already",
    );
    let f32_model = fixture("int8/trained_digits.json");
    let missing = dir.path("missing.csv");
    // (calibration rows, options after the output, exit code, what stderr names)
    let refusals: [(&str, &[&str], i32, &str); 3] = [
        (&missing, &[], 2, "missing.csv"),
        (&calibration, &["--percentile", "20"], 2, "percentile"),
        (&calibration, &["--max-layer-error=-1"], 2, "at least 0"),
    ];
    for (rows, options, code, names) in refusals {
        let mut args = vec!["quantize", &f32_model, "--calibration", rows, "-o", &out];
        args.extend_from_slice(options);
        check(&args, code, names);
    }
    assert!(!Path::new(&out).exists(), "a refused run writes nothing");
    check(&["bench", &int8, "--engine", "static"], 1, "quantized");
    check(
        &["bench", &f32_model, "--engine", "int8"],
        1,
        "instinct quantize",
    );
}
