//! Feature names: `"x"` is one value, `"x[N]"` is N values.

use crate::error::FormatError;

/// Number of input values a feature name stands for, with the reference's exact rules: a name
/// without brackets is one value; `"name[N]"` needs a non-empty name, exactly one `[` and one `]`,
/// `]` last, and N a positive integer.
///
/// ```
/// use instinct_format::feature_width;
/// assert_eq!(feature_width("age").unwrap(), 1);
/// assert_eq!(feature_width("pixel[64]").unwrap(), 64);
/// assert!(feature_width("pixel[0]").is_err());
/// assert!(feature_width("[3]").is_err());
/// ```
pub fn feature_width(name: &str) -> Result<usize, FormatError> {
    let bad = |reason: &'static str| FormatError::InvalidFeatureName {
        name: name.to_string(),
        reason,
    };
    let brackets = name.chars().filter(|&c| c == '[' || c == ']').count();
    let Some(open) = name.find('[') else {
        return if brackets == 0 {
            Ok(1)
        } else {
            Err(bad("a `]` without `[`"))
        };
    };
    if !name.ends_with(']') {
        return Err(bad("`]` must be the last character"));
    }
    if brackets != 2 {
        return Err(bad("more than one `[` or `]`"));
    }
    let (prefix, count) = (&name[..open], &name[open + 1..name.len() - 1]);
    if prefix.is_empty() {
        return Err(bad("the name before `[` is empty"));
    }
    match count.parse::<usize>() {
        Ok(n) if n > 0 => Ok(n),
        Ok(_) => Err(bad("the width must be positive")),
        Err(_) => Err(bad("the width is not an integer")),
    }
}

/// The feature names expanded to one column name per input value: `"b[3]"` becomes `b[0]`,
/// `b[1]`, `b[2]`; a plain name stays as it is. Fails like [`feature_width`].
pub fn expand_feature_names(features: &[String]) -> Result<Vec<String>, FormatError> {
    let mut names = Vec::new();
    for f in features {
        let width = feature_width(f)?;
        if width == 1 && !f.contains('[') {
            names.push(f.clone());
        } else {
            let base = &f[..f.find('[').unwrap_or(f.len())];
            names.extend((0..width).map(|i| format!("{base}[{i}]")));
        }
    }
    Ok(names)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(name: &str, expected: Option<usize>) {
        assert_eq!(feature_width(name).ok(), expected, "feature {name:?}");
    }

    #[test]
    fn widths_follow_the_reference_rules() {
        check("x", Some(1));
        check("x[3]", Some(3));
        check("x[+3]", Some(3)); // Rust's usize parser accepts a leading '+', as the reference does
        check("x[0]", None);
        check("x[]", None);
        check("[2]", None);
        check("x[2]y", None);
        check("x]", None);
        check("x[2][3]", None);
        check("x[-1]", None);
        check("x[a]", None);
        check("", Some(1));
    }

    #[test]
    fn expansion_names_every_column() {
        let names = expand_feature_names(&["a".into(), "b[2]".into()]).unwrap();
        assert_eq!(names, ["a", "b[0]", "b[1]"]);
    }
}
