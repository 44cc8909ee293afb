//! `tkc devices`: each Vulkan device with its type, driver, subgroup size, limits and the
//! features tk uses (the facts come from `tk::api::devices`, which Python's `tk.devices()` shares).
#![allow(unused_imports)]
use super::*;

pub(crate) fn devices() -> Result<()> {
    let devices = tk::api::devices().map_err(|error| match error {
        tk::api::Error::Runtime(error) => runtime_failure(error),
        other => Fail {
            code: 3,
            text: format!("error: {other}\n"),
        },
    })?;
    if devices.is_empty() {
        println!("no Vulkan device (tkc run falls back to the interpreter)");
    }
    for tk::api::DeviceFacts { info, target } in devices {
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
        match target {
            Ok(target) => {
                println!("    shared memory:   {} bytes", target.max_shared_bytes);
                println!("    max threads:     {}", target.max_threads);
                println!("    push constants:  {} bytes", target.max_push_bytes);
                let features = tk::api::feature_list(target.features);
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
