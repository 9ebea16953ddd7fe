//! What every upload shares with its runtime: the device and queue ([`Inner`]), the limits of
//! a binding and a dispatch, error scopes that keep wgpu from panicking, and the submit-and-read
//! step of every run.

use crate::error::GpuError;

/// What a runtime and its uploads share.
pub(crate) struct Inner {
    pub(crate) device: wgpu::Device,
    pub(crate) queue: wgpu::Queue,
    pub(crate) info: wgpu::AdapterInfo,
    pub(crate) limits: wgpu::Limits,
    pub(crate) bindings: wgpu::BindGroupLayout,
    pub(crate) layout: wgpu::PipelineLayout,
}

/// Bytes one storage binding may hold on this device (also within one buffer and 32-bit sizes).
pub(crate) fn binding_limit(limits: &wgpu::Limits) -> usize {
    limits
        .max_storage_buffer_binding_size
        .min(limits.max_buffer_size)
        .min(u32::MAX as u64) as usize
}

/// Workgroups of `workgroup` invocations for `invocations`: x up to the per-dimension limit, then
/// rows of y.
pub(crate) fn workgroups(
    invocations: usize,
    workgroup: u32,
    limits: &wgpu::Limits,
) -> Result<(u32, u32), GpuError> {
    let needed = invocations.div_ceil(workgroup as usize).max(1);
    let max = limits.max_compute_workgroups_per_dimension as usize;
    let x = needed.min(max);
    let y = needed.div_ceil(x);
    if y > max {
        return Err(GpuError::TooManyWorkgroups {
            workgroups: needed as u64,
            limit: (max as u64).saturating_mul(max as u64),
        });
    }
    Ok((x as u32, y as u32))
}

/// Error scopes for every kind of wgpu error (validation, out of memory, internal), so that none
/// reaches wgpu's default handler, which panics.
pub(crate) struct Scopes(Vec<wgpu::ErrorScopeGuard>);

impl Scopes {
    /// Opens the three scopes.
    pub(crate) fn push(device: &wgpu::Device) -> Scopes {
        Scopes(
            [
                wgpu::ErrorFilter::Validation,
                wgpu::ErrorFilter::OutOfMemory,
                wgpu::ErrorFilter::Internal,
            ]
            .map(|f| device.push_error_scope(f))
            .into(),
        )
    }

    /// Closes them, innermost first, and returns the first error any caught.
    pub(crate) fn pop(self) -> Option<wgpu::Error> {
        let mut first = None;
        for scope in self.0.into_iter().rev() {
            if let Some(e) = pollster::block_on(scope.pop()) {
                first.get_or_insert(e);
            }
        }
        first
    }
}

/// Ends the error scope opened before `encoder`'s commands were recorded (any validation error
/// becomes [`GpuError::Execution`]), submits them, waits, and reads `staging` back as `f32`s.
pub(crate) fn submit_and_read(
    inner: &Inner,
    scope: Scopes,
    encoder: wgpu::CommandEncoder,
    staging: &wgpu::Buffer,
) -> Result<Vec<f32>, GpuError> {
    let failed = |e: &dyn std::fmt::Display| GpuError::Execution(e.to_string());
    let commands = encoder.finish();
    if let Some(e) = scope.pop() {
        return Err(failed(&e));
    }
    inner.queue.submit([commands]);
    let (sender, receiver) = std::sync::mpsc::channel();
    staging
        .slice(..)
        .map_async(wgpu::MapMode::Read, move |r| drop(sender.send(r)));
    inner
        .device
        .poll(wgpu::PollType::wait_indefinitely())
        .map_err(|e| failed(&e))?;
    receiver
        .recv()
        .map_err(|e| failed(&e))?
        .map_err(|e| failed(&e))?;
    let values = {
        let view = staging
            .slice(..)
            .get_mapped_range()
            .map_err(|e| failed(&e))?;
        bytemuck::cast_slice::<u8, f32>(&view).to_vec()
    };
    staging.unmap();
    Ok(values)
}
