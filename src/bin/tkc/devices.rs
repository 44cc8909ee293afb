//! `tkc devices`: each Vulkan device with its type, driver, subgroup size, limits and the
//! features tk uses.
#![allow(unused_imports)]
use super::*;

pub(crate) fn devices() -> Result<()> {
    let devices = runtime::list_devices().map_err(runtime_failure)?;
    if devices.is_empty() {
        println!("no Vulkan device (tkc run falls back to the interpreter)");
    }
    for info in devices {
        println!("{}: {}", info.index, info.name);
        println!("    type:            {}", info.kind);
        let (major, minor, patch) = info.api_version;
        println!("    Vulkan:          {major}.{minor}.{patch}");
        println!("    driver:          {}", info.driver);
        println!("    subgroup size:   {}", info.subgroup_size);
        println!("    timestamps:      {}", yes_no(info.timestamps));
        // What `TK_VALIDATION=1` gives up to keep the installed validation layer on.
        for left in &info.left_out_under_validation {
            println!("    note:            {left}");
        }
        // Limits and features need the device opened; a device that fails to open still lists.
        match Device::open(DeviceChoice::Index(info.index)) {
            Ok(device) => {
                let target = device.target();
                println!("    shared memory:   {} bytes", target.max_shared_bytes);
                println!("    max threads:     {}", target.max_threads);
                println!("    push constants:  {} bytes", target.max_push_bytes);
                let f = target.features;
                let features = [
                    ("f16", f.float16),
                    ("f64", f.float64),
                    ("i8", f.int8),
                    ("i16", f.int16),
                    ("i64", f.int64),
                    ("8-bit storage", f.storage8),
                    ("16-bit storage", f.storage16),
                    ("subgroup arithmetic", f.subgroup_arithmetic),
                    ("subgroup shuffle", f.subgroup_shuffle),
                    ("float atomic add", f.float_atomic_add),
                    ("cooperative matrix", f.cooperative_matrix),
                ];
                let has: Vec<&str> = features.iter().filter(|f| f.1).map(|f| f.0).collect();
                let lacks: Vec<&str> = features.iter().filter(|f| !f.1).map(|f| f.0).collect();
                println!("    features:        {}", list(&has));
                println!("    missing:         {}", list(&lacks));
                if let Some(shape) = target.cooperative_matrix {
                    println!("    dot tiles:       {shape} cooperative matrices (f16 × f16 + f32)");
                }
            }
            Err(error) => println!("    (cannot open: {error})"),
        }
    }
    Ok(())
}

fn yes_no(value: bool) -> &'static str {
    if value {
        "yes"
    } else {
        "no"
    }
}

fn list(items: &[&str]) -> String {
    if items.is_empty() {
        "none".to_string()
    } else {
        items.join(", ")
    }
}
