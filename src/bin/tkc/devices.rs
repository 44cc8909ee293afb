//! `tkc devices`: the Vulkan devices.
#![allow(unused_imports)]
use super::*;

pub(crate) fn devices() -> Result<()> {
    match runtime::list_devices() {
        Ok(devices) => {
            for info in devices {
                println!(
                    "{}: {} ({:?}, Vulkan {}.{}.{}, subgroup size {})",
                    info.index,
                    info.name,
                    info.kind,
                    info.api_version.0,
                    info.api_version.1,
                    info.api_version.2,
                    info.subgroup_size
                );
            }
            Ok(())
        }
        Err(error) => Err(runtime_failure(error)),
    }
}
