//! The device-wide VkPipelineCache as bytes: export its data, and import data saved by an
//! earlier process after checking the header (Vulkan's `VkPipelineCacheHeaderVersionOne`) against
//! this device, so data from another device or driver is refused rather than handed to the driver.
use ash::vk;

use super::device::Device;
use super::{vk_error, RuntimeError};

/// What a pipeline cache header must match.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct CacheIdentity {
    pub(crate) vendor_id: u32,
    pub(crate) device_id: u32,
    pub(crate) uuid: [u8; 16],
}

/// Size of `VkPipelineCacheHeaderVersionOne`.
const HEADER_BYTES: usize = 32;

/// True when `data` starts with a version-one header naming this device.
fn header_matches(data: &[u8], identity: &CacheIdentity) -> bool {
    if data.len() < HEADER_BYTES {
        return false;
    }
    let word = |at: usize| u32::from_le_bytes([data[at], data[at + 1], data[at + 2], data[at + 3]]);
    let length = word(0) as usize;
    let version = word(4);
    length >= HEADER_BYTES
        && length <= data.len()
        && version == vk::PipelineCacheHeaderVersion::ONE.as_raw() as u32
        && word(8) == identity.vendor_id
        && word(12) == identity.device_id
        && data[16..32] == identity.uuid
}

impl Device {
    /// The device's `pipelineCacheUUID`: data saved under it suits this device and driver.
    pub fn pipeline_cache_uuid(&self) -> [u8; 16] {
        self.context.cache_identity.uuid
    }

    /// The pipeline cache's current data (to save for the next process).
    pub fn export_pipeline_cache(&self) -> Result<Vec<u8>, RuntimeError> {
        let cache = self.context.share_pipeline_cache();
        // SAFETY: the cache belongs to this live device, and no merge changes it meanwhile.
        unsafe { self.context.device.get_pipeline_cache_data(*cache) }
            .map_err(vk_error("vkGetPipelineCacheData"))
    }

    /// Merges saved pipeline cache data into the device's cache. Returns `Ok(false)` and leaves
    /// the cache alone when the header does not name this device and driver. Safe to call while
    /// other threads load pipelines: the merge waits for them and they for it, since Vulkan
    /// requires the merge target to be used by no other thread meanwhile.
    pub fn import_pipeline_cache(&self, data: &[u8]) -> Result<bool, RuntimeError> {
        let context = &self.context;
        if !header_matches(data, &context.cache_identity) {
            return Ok(false);
        }
        let device = &context.device;
        // SAFETY: the data passed the header check; the temporary cache is destroyed on every
        // path and the target cache belongs to this device, held by this thread alone.
        unsafe {
            let loaded = device
                .create_pipeline_cache(
                    &vk::PipelineCacheCreateInfo::default().initial_data(data),
                    None,
                )
                .map_err(vk_error("vkCreatePipelineCache"))?;
            let cache = context.own_pipeline_cache();
            let merged = device.merge_pipeline_caches(*cache, &[loaded]);
            drop(cache);
            device.destroy_pipeline_cache(loaded, None);
            merged.map_err(vk_error("vkMergePipelineCaches"))?;
        }
        context.check_validation()?;
        Ok(true)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn header(identity: &CacheIdentity) -> Vec<u8> {
        let mut data = Vec::new();
        data.extend_from_slice(&32u32.to_le_bytes());
        data.extend_from_slice(&1u32.to_le_bytes());
        data.extend_from_slice(&identity.vendor_id.to_le_bytes());
        data.extend_from_slice(&identity.device_id.to_le_bytes());
        data.extend_from_slice(&identity.uuid);
        data
    }

    #[test]
    fn headers_are_checked_against_the_device() {
        let identity = CacheIdentity {
            vendor_id: 0x10005,
            device_id: 7,
            uuid: [3; 16],
        };
        assert!(header_matches(&header(&identity), &identity));
        let other = CacheIdentity {
            uuid: [4; 16],
            ..identity
        };
        assert!(!header_matches(&header(&other), &identity));
        assert!(!header_matches(&header(&identity)[..20], &identity));
        let mut bad_version = header(&identity);
        bad_version[4] = 2;
        assert!(!header_matches(&bad_version, &identity));
    }
}
