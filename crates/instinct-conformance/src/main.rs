//! The conformance runner: `instinct-conformance run DIR` prints the case × backend table and
//! fails on any tolerance violation; `import-keras SRC DST` regenerates the Keras cases.

use instinct_conformance::{
    Tolerance, all_subjects, import_keras_fixtures, load_cases, load_known_gaps, run,
};
use std::path::PathBuf;
use std::process::ExitCode;

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let result = match args.iter().map(String::as_str).collect::<Vec<_>>()[..] {
        ["run", dir] => run_cases(PathBuf::from(dir)),
        ["import-keras", src, dst] => import(PathBuf::from(src), PathBuf::from(dst)),
        _ => Err("usage: instinct-conformance run DIR | import-keras SRC DST".to_string()),
    };
    match result {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::from(2)
        }
    }
}

fn run_cases(dir: PathBuf) -> Result<ExitCode, String> {
    let cases = load_cases(&dir).map_err(|e| e.to_string())?;
    if cases.is_empty() {
        return Err(format!("no conformance cases under {}", dir.display()));
    }
    let gaps = load_known_gaps(&dir.join("known-gaps.json")).map_err(|e| e.to_string())?;
    let report = run(&cases, &all_subjects(), &gaps, Tolerance::CLOSE);
    print!("{}", report.table());
    let failures = report.failures();
    if failures.is_empty() {
        println!(
            "conformance: {} cases × {} backends passed",
            cases.len(),
            all_subjects().len()
        );
        Ok(ExitCode::SUCCESS)
    } else {
        for f in &failures {
            println!("FAILED {} / {}", f.case, f.backend);
        }
        Ok(ExitCode::FAILURE)
    }
}

fn import(src: PathBuf, dst: PathBuf) -> Result<ExitCode, String> {
    let names = import_keras_fixtures(&src, &dst).map_err(|e| e.to_string())?;
    println!("wrote {} cases: {}", names.len(), names.join(", "));
    Ok(ExitCode::SUCCESS)
}
