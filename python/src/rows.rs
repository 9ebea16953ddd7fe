//! numpy rows in and out: a C-contiguous float32 array is read where it lies; anything else
//! numbers (other floats, integers, booleans, Fortran order, strides, pandas DataFrames — whose
//! columns are matched by name — lists) is converted to float32 first, never misread; other
//! dtypes are refused. Outputs go to a new float32 array or to the caller's `out=`.
//!
//! The arrays are read and written through slices taken under the GIL, without numpy's
//! borrow registry (it cost more than the rest of a one-row call): `out` is checked here to be
//! writeable and not to overlap the input. As with every numpy extension that releases the GIL,
//! another Python thread writing into the same arrays during a call races with it.

use numpy::npyffi;
use numpy::prelude::*;
use numpy::{PyArray2, PyUntypedArray};
use pyo3::exceptions::PyValueError;
use pyo3::intern;
use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;
use pyo3::type_object::PyTypeInfo;
use pyo3::types::PyList;

/// A model's rows, as float32 values in C order.
pub(crate) struct Rows<'py> {
    /// The values (the caller's own array when it already was float32 in C order): C-contiguous
    /// and aligned.
    pub array: Bound<'py, PyArray2<f32>>,
    /// The array the values were converted from, if they were (to name its values).
    pub converted_from: Option<Bound<'py, PyUntypedArray>>,
}

impl Rows<'_> {
    /// Number of rows.
    pub fn count(&self) -> usize {
        self.array.shape()[0]
    }

    /// The values, row after row.
    pub fn values(&self) -> PyResult<&[f32]> {
        // SAFETY: the array is C-contiguous and aligned (checked, or made so), and lives as long
        // as `self`; see the module's note on other threads.
        unsafe { self.array.as_slice() }.map_err(|e| PyValueError::new_err(e.to_string()))
    }
}

/// Whether numpy says `array`'s data is aligned for its type (an unaligned `&[f32]` would be
/// undefined behaviour).
fn is_aligned(array: &Bound<'_, PyUntypedArray>) -> bool {
    // SAFETY: `array` is a live numpy array; its flags are plain data.
    unsafe { (*array.as_array_ptr()).flags & npyffi::NPY_ARRAY_ALIGNED != 0 }
}

/// Whether `x` is a `numpy.ma.MaskedArray`.
fn is_masked(x: &Bound<'_, PyAny>) -> PyResult<bool> {
    static MASKED: PyOnceLock<Py<pyo3::types::PyType>> = PyOnceLock::new();
    let masked = MASKED.import(x.py(), "numpy.ma", "MaskedArray")?;
    x.is_instance(masked)
}

/// `numpy.ascontiguousarray`, looked up once.
fn ascontiguousarray(py: Python<'_>) -> PyResult<&Bound<'_, PyAny>> {
    static FUNCTION: PyOnceLock<Py<PyAny>> = PyOnceLock::new();
    FUNCTION
        .get_or_try_init(py, || {
            Ok::<_, PyErr>(py.import("numpy")?.getattr("ascontiguousarray")?.unbind())
        })
        .map(|f| f.bind(py))
}

/// `x` as rows of `features` values for a model whose inputs are named `names` (if they are).
pub(crate) fn rows<'py>(
    x: &Bound<'py, PyAny>,
    features: usize,
    names: Option<&[String]>,
) -> PyResult<Rows<'py>> {
    let py = x.py();
    // A masked array's masked cells hold arbitrary values: its data alone would misread it.
    if !x.get_type().is(PyUntypedArray::type_object(py)) && is_masked(x)? {
        return Err(PyValueError::new_err(
            "x is a masked array: fill its masked values first (x.filled(np.nan) with \
             allow_nonfinite=True, or a value of your choice)",
        ));
    }
    // The fast path: float32 in C order, read where it lies.
    if let Ok(array) = x.cast::<PyArray2<f32>>()
        && array.is_c_contiguous()
        && is_aligned(array.as_untyped())
    {
        let rows = Rows {
            array: array.clone(),
            converted_from: None,
        };
        check_width(rows.array.shape(), features, names)?;
        return Ok(rows);
    }
    let array = match x.cast::<PyUntypedArray>() {
        Ok(array) => array.clone(),
        Err(_) => from_array_like(x, names)?,
    };
    let shape = array.shape().to_vec();
    if shape.len() != 2 {
        return Err(PyValueError::new_err(match shape.as_slice() {
            [n] => format!(
                "x is 1-D (shape ({n},)); predict takes a 2-D array of rows: x.reshape(1, -1) \
                 for one row, x.reshape(-1, 1) for one feature"
            ),
            _ => format!(
                "x has {} dimensions (shape {shape:?}); predict takes a 2-D array of rows",
                shape.len()
            ),
        }));
    }
    let dtype = array.dtype();
    if !matches!(dtype.kind(), b'f' | b'i' | b'u' | b'b') {
        return Err(PyValueError::new_err(format!(
            "x has dtype {}, not numbers: predict takes float32 (read without a copy), other \
             floats, integers or booleans{}",
            dtype.str()?,
            if dtype.kind() == b'O' {
                " (an object array: a column of text, or missing values such as pd.NA?)"
            } else {
                ""
            }
        )));
    }
    check_width(&shape, features, names)?;
    let float32 = numpy::dtype::<f32>(py);
    // float64 beyond float32's range becomes an infinity: numpy's warning is replaced by the
    // error below, which names the value.
    let wide_floats = dtype.kind() == b'f' && dtype.itemsize() > 4;
    let converted = if wide_floats {
        let numpy = py.import("numpy")?;
        let kwargs = pyo3::types::PyDict::new(py);
        kwargs.set_item("over", "ignore")?;
        let quiet = numpy.getattr("errstate")?.call((), Some(&kwargs))?;
        quiet.call_method0("__enter__")?;
        let converted = ascontiguousarray(py)?.call1((&array, float32));
        quiet.call_method1("__exit__", (py.None(), py.None(), py.None()))?;
        converted?
    } else {
        ascontiguousarray(py)?.call1((&array, float32))?
    };
    let mut converted = converted.cast_into::<PyArray2<f32>>()?;
    // numpy hands back a float32 C-order array as it is, aligned or not: copy an unaligned one.
    if !is_aligned(converted.as_untyped()) {
        converted = py
            .import("numpy")?
            .getattr("copy")?
            .call1((converted,))?
            .cast_into::<PyArray2<f32>>()?;
    }
    let rows = Rows {
        array: converted,
        converted_from: Some(array),
    };
    if wide_floats {
        check_range(&rows, names)?;
    }
    Ok(rows)
}

/// Refuses a finite value of a wider float type that became an infinity in float32 (whether
/// or not non-finite values are allowed, as instinct's file readers do).
fn check_range(rows: &Rows<'_>, names: Option<&[String]>) -> PyResult<()> {
    let (values, Some(original)) = (rows.values()?, &rows.converted_from) else {
        return Ok(());
    };
    let width = rows.array.shape()[1].max(1);
    for (i, _) in values.iter().enumerate().filter(|(_, v)| v.is_infinite()) {
        let (row, column) = (i / width, i % width);
        let value = original.get_item((row, column))?;
        let finite: f64 = value.extract()?;
        if finite.is_finite() {
            return Err(PyValueError::new_err(format!(
                "x[{row}, {column}]{}: {} is outside the range of float32 (±3.4028235e38)",
                feature_name(names, column),
                pyo3::types::PyFloat::new(value.py(), finite).repr()?
            )));
        }
    }
    Ok(())
}

/// ` (feature "name")` for column `column`, when the features are named.
fn feature_name(names: Option<&[String]>, column: usize) -> String {
    names
        .and_then(|n| n.get(column))
        .map(|n| format!(" (feature {n:?})"))
        .unwrap_or_default()
}

/// An array from something that is not a numpy array: a pandas DataFrame (its columns matched
/// to the model's feature names when it names its columns), a list, anything numpy takes.
fn from_array_like<'py>(
    x: &Bound<'py, PyAny>,
    names: Option<&[String]>,
) -> PyResult<Bound<'py, PyUntypedArray>> {
    let py = x.py();
    let mut x = x.clone();
    if let Some(names) = names
        && x.hasattr(intern!(py, "columns"))?
        && x.hasattr(intern!(py, "to_numpy"))?
    {
        let columns: Vec<Bound<'py, PyAny>> = x
            .getattr(intern!(py, "columns"))?
            .try_iter()?
            .collect::<PyResult<_>>()?;
        let labels: Option<Vec<String>> = columns.iter().map(|c| c.extract().ok()).collect();
        // Columns named by text are matched by name; unnamed ones (0, 1, …) are in order.
        if let Some(labels) = labels.filter(|l| !l.is_empty()) {
            let missing: Vec<&String> = names.iter().filter(|n| !labels.contains(n)).collect();
            if !missing.is_empty() {
                return Err(PyValueError::new_err(format!(
                    "the DataFrame has no column {} (its columns: {})",
                    quoted(missing.iter().copied()),
                    quoted(labels.iter().take(20))
                )));
            }
            if labels.as_slice() != names {
                x = x.get_item(PyList::new(py, names)?)?;
            }
        }
        let array = x.call_method0(intern!(py, "to_numpy"))?;
        return Ok(array.cast_into::<PyUntypedArray>()?);
    }
    let asarray = py.import("numpy")?.getattr("asarray")?;
    Ok(asarray.call1((x,))?.cast_into::<PyUntypedArray>()?)
}

/// `names` quoted and joined, for messages.
fn quoted<'a>(names: impl Iterator<Item = &'a String>) -> String {
    names
        .map(|n| format!("{n:?}"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// Refuses rows that are not `features` values wide.
fn check_width(shape: &[usize], features: usize, names: Option<&[String]>) -> PyResult<()> {
    if shape[1] == features {
        return Ok(());
    }
    let named = match names {
        Some(names) if names.len() <= 20 => format!(" ({})", quoted(names.iter())),
        _ => String::new(),
    };
    Err(PyValueError::new_err(format!(
        "x has {} columns; the model takes {features} feature{}{named}",
        shape[1],
        if features == 1 { "" } else { "s" }
    )))
}

/// The first value of `values` (rows of `width`) that is not finite, as (row, column).
pub(crate) fn first_nonfinite(values: &[f32], width: usize) -> Option<(usize, usize)> {
    // Checked a block at a time: the common case (all finite) is one vectorised pass.
    const BLOCK: usize = 4096;
    for (b, block) in values.chunks(BLOCK).enumerate() {
        if block.iter().fold(true, |ok, v| ok & v.is_finite()) {
            continue;
        }
        let i = b * BLOCK + block.iter().position(|v| !v.is_finite()).unwrap_or(0);
        return Some((i / width.max(1), i % width.max(1)));
    }
    None
}

/// The error for the non-finite value at `(row, column)` of `rows`.
pub(crate) fn nonfinite_error(
    rows: &Rows<'_>,
    (row, column): (usize, usize),
    names: Option<&[String]>,
) -> PyErr {
    let width = rows.array.shape()[1];
    let value = rows
        .values()
        .ok()
        .and_then(|v| v.get(row * width + column))
        .copied()
        .unwrap_or(f32::NAN);
    let why = format!(
        "{} is not a finite number; pass allow_nonfinite=True to let NaN and infinities through",
        python_float(value)
    );
    PyValueError::new_err(format!(
        "x[{row}, {column}]{}: {why}",
        feature_name(names, column)
    ))
}

/// `v` as Python prints a float: `nan`, `inf`, `-inf`.
fn python_float(v: f32) -> String {
    if v.is_nan() {
        "nan".into()
    } else if v.is_infinite() {
        if v > 0.0 { "inf" } else { "-inf" }.into()
    } else {
        v.to_string()
    }
}

/// Where the outputs go: `out`, checked, or a new array of `rows × outputs`.
pub(crate) fn outputs<'py>(
    py: Python<'py>,
    out: Option<&Bound<'py, PyAny>>,
    rows: usize,
    outputs: usize,
) -> PyResult<Bound<'py, PyArray2<f32>>> {
    let Some(out) = out else {
        return uninitialised(py, rows, outputs);
    };
    let wrong = || {
        let given = out
            .cast::<PyUntypedArray>()
            .map(|a| {
                let dtype = a.dtype().str().map(|s| s.to_string()).unwrap_or_default();
                let order = if a.is_c_contiguous() {
                    ""
                } else {
                    ", not C-contiguous"
                };
                let aligned = if is_aligned(a) { "" } else { ", not aligned" };
                let shape: Vec<String> = a.shape().iter().map(usize::to_string).collect();
                format!(
                    "dtype {dtype}, shape ({}){order}{aligned}",
                    shape.join(", ")
                )
            })
            .unwrap_or_else(|_| "not a numpy array".into());
        PyValueError::new_err(format!(
            "out must be an aligned, C-contiguous float32 array of shape ({rows}, {outputs}); it is {given}"
        ))
    };
    let array = out.cast::<PyArray2<f32>>().map_err(|_| wrong())?;
    if array.shape() != [rows, outputs]
        || !array.is_c_contiguous()
        || !is_aligned(array.as_untyped())
    {
        return Err(wrong());
    }
    Ok(array.clone())
}

/// A new float32 array of `rows × outputs` values not yet written (numpy's `empty`); numpy's
/// `MemoryError` (or its refusal of an impossible shape) when it cannot be made. Every caller
/// writes all of it before handing it out, or drops it on an error: zeroing it first cost
/// 12–25 ns a row here (numpy's `zeros` at 1,024 and 8,192 rows × 200 outputs), paid with the
/// GIL held while the engine's threads wait.
fn uninitialised(
    py: Python<'_>,
    rows: usize,
    outputs: usize,
) -> PyResult<Bound<'_, PyArray2<f32>>> {
    let too_big = || {
        pyo3::exceptions::PyMemoryError::new_err(format!(
            "not enough memory for {rows} × {outputs} output values"
        ))
    };
    let mut dims = [
        npyffi::npy_intp::try_from(rows).map_err(|_| too_big())?,
        npyffi::npy_intp::try_from(outputs).map_err(|_| too_big())?,
    ];
    // SAFETY: numpy's own constructor (as `PyArray::new` calls it), with its NULL checked.
    unsafe {
        let descr = numpy::dtype::<f32>(py).into_dtype_ptr();
        let ptr = numpy::PY_ARRAY_API.PyArray_Empty(py, 2, dims.as_mut_ptr(), descr, 0);
        Ok(Bound::from_owned_ptr_or_err(py, ptr)?.cast_into_unchecked())
    }
}

/// `out`'s values to write, refused when `out` is read-only or overlaps `input`.
///
/// # Safety
/// No other reference to `out`'s values may live while the slice does (numpy's arrays are
/// shared objects: the borrow is the caller's promise, not the type system's).
#[allow(clippy::mut_from_ref)]
pub(crate) unsafe fn writable<'a>(
    out: &'a Bound<'_, PyArray2<f32>>,
    input: &[f32],
) -> PyResult<&'a mut [f32]> {
    // SAFETY: `out` is a live numpy array; its flags are plain data.
    let writeable = unsafe { (*out.as_array_ptr()).flags & npyffi::NPY_ARRAY_WRITEABLE != 0 };
    if !writeable {
        return Err(PyValueError::new_err("out is read-only"));
    }
    // SAFETY: `out` is C-contiguous and aligned (checked in `outputs`, or new).
    let values = unsafe { out.as_slice_mut() }.map_err(|e| PyValueError::new_err(e.to_string()))?;
    let (start, end) = (
        values.as_ptr() as usize,
        values.as_ptr() as usize + values.len() * 4,
    );
    let (from, to) = (
        input.as_ptr() as usize,
        input.as_ptr() as usize + input.len() * 4,
    );
    if !values.is_empty() && !input.is_empty() && start < to && from < end {
        return Err(PyValueError::new_err("out shares memory with x"));
    }
    Ok(values)
}
