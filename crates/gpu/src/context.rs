//! The wgpu instance, adapter, device and queue, made once per process.

use std::sync::{Arc, Mutex};

use crate::GpuError;

/// What the chosen adapter is, for the log, the progress header and the `runs` row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AdapterSummary {
    /// Adapter name, e.g. `NVIDIA H100 80GB HBM3` or `llvmpipe (LLVM 15.0.6, 256 bits)`.
    pub name: String,
    /// Graphics API, e.g. `Vulkan`.
    pub backend: String,
    /// `DiscreteGpu`, `IntegratedGpu`, `Cpu` (a software rasteriser such as lavapipe), …
    pub device_type: String,
    /// Whether this is a real GPU rather than a software implementation.
    pub is_hardware: bool,
}

impl std::fmt::Display for AdapterSummary {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} ({}, {})", self.name, self.backend, self.device_type)
    }
}

/// A device and its queue.
pub struct GpuContext {
    pub(crate) device: wgpu::Device,
    pub(crate) queue: wgpu::Queue,
    summary: AdapterSummary,
    failure: Arc<Mutex<Option<String>>>,
    pub(crate) timestamps: bool,
}

impl GpuContext {
    /// Opens the best adapter (a high-performance GPU if there is one; lavapipe otherwise).
    /// With `allow_software` false, a software adapter is refused before any device is made.
    pub fn new(allow_software: bool) -> Result<Self, GpuError> {
        let instance =
            wgpu::Instance::new(wgpu::InstanceDescriptor::new_without_display_handle_from_env());
        let adapter = pollster::block_on(instance.request_adapter(&wgpu::RequestAdapterOptions {
            power_preference: wgpu::PowerPreference::HighPerformance,
            ..Default::default()
        }))
        .map_err(|e| GpuError::NoAdapter(e.to_string()))?;
        let info = adapter.get_info();
        let summary = AdapterSummary {
            name: info.name.clone(),
            backend: format!("{:?}", info.backend),
            device_type: format!("{:?}", info.device_type),
            is_hardware: !matches!(
                info.device_type,
                wgpu::DeviceType::Cpu | wgpu::DeviceType::Other
            ),
        };
        if !allow_software && !summary.is_hardware {
            return Err(GpuError::NoAdapter(format!(
                "only a software adapter: {summary}"
            )));
        }
        let limits = adapter.limits();
        if limits.max_storage_buffers_per_shader_stage < 8 {
            return Err(GpuError::Device(format!(
                "{} allows {} storage buffers per shader stage; seamscan needs 8",
                summary.name, limits.max_storage_buffers_per_shader_stage
            )));
        }
        // Per-shader timings where the adapter can stamp compute passes.
        let timestamps = adapter.features().contains(wgpu::Features::TIMESTAMP_QUERY);
        let (device, queue) = pollster::block_on(adapter.request_device(&wgpu::DeviceDescriptor {
            label: Some("seamscan"),
            required_limits: limits,
            required_features: if timestamps {
                wgpu::Features::TIMESTAMP_QUERY
            } else {
                wgpu::Features::empty()
            },
            ..Default::default()
        }))
        .map_err(|e| GpuError::Device(e.to_string()))?;
        // wgpu panics on an uncaptured error by default; record it instead, so that the
        // failing batch returns an error and the run can fall back to the CPU.
        let failure = Arc::new(Mutex::new(None::<String>));
        let sink = failure.clone();
        device.on_uncaptured_error(Arc::new(move |e: wgpu::Error| {
            sink.lock()
                .unwrap_or_else(|p| p.into_inner())
                .get_or_insert_with(|| e.to_string());
        }));
        let sink = failure.clone();
        device.set_device_lost_callback(move |reason, message| {
            sink.lock()
                .unwrap_or_else(|p| p.into_inner())
                .get_or_insert_with(|| format!("device lost ({reason:?}): {message}"));
        });
        tracing::debug!(adapter = %summary, "GPU device ready");
        Ok(GpuContext {
            device,
            queue,
            summary,
            failure,
            timestamps,
        })
    }

    /// The adapter in use.
    pub fn adapter(&self) -> &AdapterSummary {
        &self.summary
    }

    /// Blocks until the queue is idle; reports any error the device raised meanwhile.
    pub(crate) fn wait(&self) -> Result<(), GpuError> {
        self.device
            .poll(wgpu::PollType::wait_indefinitely())
            .map_err(|e| GpuError::Dispatch(e.to_string()))?;
        self.check()
    }

    /// The first error the device raised, if any (validation, out of memory, device lost).
    /// Once failed, a context stays failed.
    pub(crate) fn check(&self) -> Result<(), GpuError> {
        match self
            .failure
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .as_ref()
        {
            Some(e) => Err(GpuError::Dispatch(e.clone())),
            None => Ok(()),
        }
    }
}
