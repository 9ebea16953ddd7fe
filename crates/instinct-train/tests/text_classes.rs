//! CSVs whose target holds text: read column by column, classes sorted as scikit-learn's
//! `classes_`, test sets matched to the training classes, and text refused where numbers are
//! needed, naming the line and column.

use instinct_format::ClassLabel;
use instinct_train::TrainError;
use instinct_train::data::{Classes, Column, Dataset, Table, Targets};
use instinct_train::recipe::{MlpRecipe, Prepared, Task, guess_task};
use std::path::PathBuf;

/// A CSV file written for one test, removed when dropped.
struct Csv(PathBuf);

impl Csv {
    fn new(name: &str, text: &str) -> Csv {
        let path = std::env::temp_dir().join(format!(
            "instinct-text-classes-{}-{name}.csv",
            std::process::id()
        ));
        std::fs::write(&path, text).unwrap();
        Csv(path)
    }

    fn read(&self) -> Result<Table, TrainError> {
        Table::read_csv(&self.0)
    }
}

impl Drop for Csv {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}

fn data_error(result: Result<impl std::fmt::Debug, TrainError>) -> String {
    match result {
        Err(TrainError::Data(m)) => m,
        other => panic!("expected a data error, got {other:?}"),
    }
}

#[test]
fn a_column_with_any_text_is_kept_as_written_the_others_are_numbers() {
    let csv = Csv::new(
        "mixed",
        "x,species,code\n1.5,setosa,1\n2, virginica ,02\n-3,\"versi, color\",x\n",
    );
    let table = csv.read().unwrap();
    assert_eq!(table.names, ["x", "species", "code"]);
    assert_eq!(table.rows(), 3);
    assert_eq!(table.columns[0], Column::Numbers(vec![1.5, 2.0, -3.0]));
    // Cells are trimmed, quoted commas kept; a column of numbers but one keeps all as written.
    let text = |v: &[&str]| Column::Text(v.iter().map(|s| s.to_string()).collect());
    assert_eq!(
        table.columns[1],
        text(&["setosa", "virginica", "versi, color"])
    );
    assert_eq!(table.columns[2], text(&["1", "02", "x"]));
    assert_eq!(table.columns[2].first_non_number(), Some((2, "x")));
}

#[test]
fn messages_name_the_line_a_row_starts_on() {
    // A quoted cell over two lines moves the rows after it.
    let csv = Csv::new("lines", "x,y\n1,\"a\nb\"\n2,c\nx,d\n");
    let table = csv.read().unwrap();
    assert_eq!(table.lines, [2, 4, 5]);
    let m = data_error(Dataset::from_table(&table, "y", true, None));
    assert!(m.contains("line 5, column \"x\": \"x\""), "{m}");
}

#[test]
fn a_mostly_numeric_target_with_a_bad_cell_is_guessed_a_regression() {
    let mut text = String::from("x,y\n");
    for i in 0..30 {
        let y = if i == 17 {
            "NA".to_string()
        } else {
            format!("{}", i % 3)
        };
        text.push_str(&format!("{i},{y}\n"));
    }
    let table = Csv::new("na", &text).read().unwrap();
    assert_eq!(guess_task(&table, "y"), Some(Task::Regress));
    let m = data_error(Prepared::new(&MlpRecipe::new("y"), &table, None));
    assert!(m.contains("line 19, column \"y\": \"NA\""), "{m}");
}

#[test]
fn a_number_that_is_not_finite_is_an_error_not_text() {
    let csv = Csv::new("nan", "x,y\n1,0\nNaN,1\n");
    let m = data_error(csv.read());
    assert!(m.contains("line 3, column \"x\""), "{m}");
    assert!(m.contains("not a finite number"), "{m}");
}

#[test]
fn text_targets_become_sorted_classes_and_the_model_stores_them() {
    let names = ["virginica", "setosa", "versicolor"];
    let mut text = String::from("a,b,species\n");
    for i in 0..60 {
        let class = i % 3;
        text.push_str(&format!(
            "{},{},{}\n",
            class as f32 + (i as f32 * 0.37).sin() * 0.2,
            (i as f32 * 0.11).cos(),
            names[class]
        ));
    }
    let csv = Csv::new("species", &text);
    let table = csv.read().unwrap();
    assert_eq!(guess_task(&table, "species"), Some(Task::Classify));
    let data = Dataset::from_table(&table, "species", true, None).unwrap();
    let sorted = Classes::Text(vec![
        "setosa".into(),
        "versicolor".into(),
        "virginica".into(),
    ]);
    assert_eq!(data.classes.as_ref(), Some(&sorted));
    let Targets::Classes(indices) = &data.targets else {
        panic!("{:?}", data.targets)
    };
    // Row i holds names[i % 3]; its index is that name's place in the sorted classes.
    for (i, &index) in indices.iter().enumerate() {
        let Classes::Text(c) = &sorted else {
            unreachable!()
        };
        assert_eq!(c[index], names[i % 3], "row {i}");
    }
    let recipe = MlpRecipe {
        hidden: vec![8],
        epochs: 30,
        ..MlpRecipe::new("species")
    };
    let prepared = Prepared::new(&recipe, &table, Some(&table)).unwrap();
    let trained = prepared.fit(&recipe, &mut |_| {}).unwrap();
    assert_eq!(
        trained.info.labels,
        Some(vec![
            ClassLabel::Text("setosa".into()),
            ClassLabel::Text("versicolor".into()),
            ClassLabel::Text("virginica".into()),
        ])
    );
}

#[test]
fn a_test_set_is_matched_to_the_training_classes() {
    let train = Csv::new("train", "x,y\n1,cat\n2,dog\n3,cat\n4,dog\n")
        .read()
        .unwrap();
    let classes = Dataset::from_table(&train, "y", true, None)
        .unwrap()
        .classes
        .unwrap();
    let unknown = Csv::new("unknown", "x,y\n1,dog\n2,cow\n").read().unwrap();
    let m = data_error(Dataset::from_table(&unknown, "y", true, Some(&classes)));
    assert!(m.contains("line 3"), "{m}");
    assert!(m.contains("\"cow\""), "{m}");
    assert!(m.contains("cat, dog"), "{m}");
    // Integer classes learned from text ("1", "2", "x") match a test column of numbers.
    let mixed = Csv::new("mixed-train", "x,y\n1,1\n2,2\n3,x\n")
        .read()
        .unwrap();
    let classes = Dataset::from_table(&mixed, "y", true, None)
        .unwrap()
        .classes
        .unwrap();
    let numbers = Csv::new("numbers", "x,y\n5,2\n6,1\n").read().unwrap();
    let test = Dataset::from_table(&numbers, "y", true, Some(&classes)).unwrap();
    assert_eq!(test.targets, Targets::Classes(vec![1, 0]));
    // Text classes written "1.0", "x" match the number 1; numbers match text " 2.0"-style cells.
    let written = Csv::new("written", "x,y\n1,1.0\n2,x\n").read().unwrap();
    let classes = Dataset::from_table(&written, "y", true, None)
        .unwrap()
        .classes
        .unwrap();
    let test = Dataset::from_table(&numbers, "y", true, Some(&classes));
    let m = data_error(test);
    assert!(m.contains("line 2: class 2"), "{m}");
    let ones = Csv::new("ones", "x,y\n5,1\n").read().unwrap();
    let test = Dataset::from_table(&ones, "y", true, Some(&classes)).unwrap();
    assert_eq!(test.targets, Targets::Classes(vec![0]));
}

#[test]
fn text_is_refused_where_numbers_are_needed() {
    let feature = Csv::new("feature", "a,y\n1,0\nx,1\n").read().unwrap();
    let m = data_error(Dataset::from_table(&feature, "y", true, None));
    assert!(m.contains("line 3, column \"a\": \"x\""), "{m}");
    let target = Csv::new("target", "a,y\n1,low\n2,high\n").read().unwrap();
    let m = data_error(Dataset::from_table(&target, "y", false, None));
    assert!(m.contains("line 2, column \"y\": \"low\""), "{m}");
    assert!(m.contains("regression"), "{m}");
    let recipe = MlpRecipe {
        task: Some(Task::Regress),
        ..MlpRecipe::new("y")
    };
    let m = data_error(Prepared::new(&recipe, &target, None));
    assert!(
        m.contains("\"low\" is not a finite number; a regression target"),
        "{m}"
    );
    let empty = Csv::new("empty", "a,y\n1,cat\n2,\n3,dog\n").read().unwrap();
    let m = data_error(Dataset::from_table(&empty, "y", true, None));
    assert!(m.contains("line 3, column \"y\""), "{m}");
    let one = Csv::new("one", "a,y\n1,cat\n2,cat\n").read().unwrap();
    let m = data_error(Dataset::from_table(&one, "y", true, None));
    assert!(m.contains("one class only (cat)"), "{m}");
}
