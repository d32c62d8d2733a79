//! The UNet2DModel loader (`nn::ModelFolder`): from disk and from bytes, scheduler configs, and
//! bad input, each a typed one-line error whose text names the file, key or tensor.

use ddpm_wgpu::nn::ModelFolder;
use ddpm_wgpu::Error;
use std::path::{Path, PathBuf};

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/unet")
        .join(name)
}

#[test]
fn from_parts_equals_open() {
    let dir = fixture("attn_two_levels_heads");
    let text = |f: &str| std::fs::read_to_string(dir.join(f)).unwrap();
    let bytes = std::fs::read(dir.join("diffusion_pytorch_model.safetensors")).unwrap();
    let parts = ModelFolder::from_parts(
        &text("config.json"),
        &bytes,
        Some(&text("scheduler_config.json")),
    )
    .unwrap();
    let opened = ModelFolder::open(&dir).unwrap();
    assert_eq!(parts.config, opened.config);
    assert_eq!(parts.scheduler, opened.scheduler);
    assert_eq!(parts.unet().unwrap(), opened.unet().unwrap());
}

#[test]
fn scheduler_configs_are_read() {
    let ddpm = ModelFolder::open(fixture("odd_scale_shift_pad0"))
        .unwrap()
        .scheduler
        .unwrap();
    assert_eq!(ddpm.class_name.as_deref(), Some("DDPMScheduler"));
    assert_eq!(ddpm.variance_type, "learned_range");
    assert_eq!(
        (ddpm.num_train_timesteps, ddpm.beta_start, ddpm.beta_end),
        (1000, 1e-4, 0.02)
    );
    let ddim = ModelFolder::open(fixture("pipeline"))
        .unwrap()
        .scheduler
        .unwrap();
    assert_eq!(ddim.class_name.as_deref(), Some("DDIMScheduler"));
    assert_eq!(ddim.beta_schedule, "scaled_linear");
    assert_eq!(
        (ddim.set_alpha_to_one, ddim.steps_offset, ddim.clip_sample),
        (false, 1, false)
    );
}

fn temp_copy(name: &str, tag: &str) -> PathBuf {
    let dst = std::env::temp_dir().join(format!("ddpm-unet-{}-{tag}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dst);
    std::fs::create_dir_all(&dst).unwrap();
    for entry in std::fs::read_dir(fixture(name)).unwrap() {
        let p = entry.unwrap().path();
        if p.is_file() {
            std::fs::copy(&p, dst.join(p.file_name().unwrap())).unwrap();
        }
    }
    dst
}

fn open_err(dir: &Path) -> Error {
    match ModelFolder::open(dir).and_then(|f| f.unet()) {
        Ok(_) => panic!("{} loaded", dir.display()),
        Err(e) => {
            println!("{e}");
            assert!(!e.to_string().contains('\n'), "one line: {e}");
            e
        }
    }
}

/// Rewrites the folder's safetensors file through `edit` (name, dtype, shape, bytes).
fn rewrite_tensors(
    dir: &Path,
    edit: impl Fn(
        &str,
        safetensors::Dtype,
        &[usize],
        &[u8],
    ) -> (String, safetensors::Dtype, Vec<usize>, Vec<u8>),
) {
    let path = dir.join("diffusion_pytorch_model.safetensors");
    let bytes = std::fs::read(&path).unwrap();
    let st = safetensors::SafeTensors::deserialize(&bytes).unwrap();
    let edited: Vec<_> = st
        .iter()
        .map(|(n, v)| edit(n, v.dtype(), v.shape(), v.data()))
        .collect();
    let views: Vec<_> = edited
        .iter()
        .map(|(n, d, s, b)| {
            (
                n.clone(),
                safetensors::tensor::TensorView::new(*d, s.clone(), b).unwrap(),
            )
        })
        .collect();
    std::fs::write(&path, safetensors::serialize(views, None).unwrap()).unwrap();
}

fn keep(
    n: &str,
    d: safetensors::Dtype,
    s: &[usize],
    b: &[u8],
) -> (String, safetensors::Dtype, Vec<usize>, Vec<u8>) {
    (n.to_string(), d, s.to_vec(), b.to_vec())
}

fn edit_config(dir: &Path, edit: impl Fn(&mut serde_json::Map<String, serde_json::Value>)) {
    let path = dir.join("config.json");
    let mut v: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
    edit(v.as_object_mut().unwrap());
    std::fs::write(&path, v.to_string()).unwrap();
}

#[test]
fn missing_files_are_named() {
    let dir = temp_copy("bf16", "missing");
    std::fs::remove_file(dir.join("diffusion_pytorch_model.safetensors")).unwrap();
    let e = open_err(&dir);
    assert!(matches!(e, Error::MissingModelFile { .. }), "{e:?}");
    assert!(
        e.to_string()
            .contains("diffusion_pytorch_model.safetensors"),
        "{e}"
    );
    std::fs::remove_file(dir.join("config.json")).unwrap();
    let e = open_err(&dir);
    assert!(
        matches!(e, Error::MissingModelFile { .. }) && e.to_string().contains("config.json"),
        "{e}"
    );
    let e = open_err(&dir.join("no-such-folder"));
    assert!(e.to_string().contains("config.json"), "{e}");
}

#[test]
fn truncated_safetensors_is_rejected() {
    let dir = temp_copy("bf16", "truncated");
    let path = dir.join("diffusion_pytorch_model.safetensors");
    let bytes = std::fs::read(&path).unwrap();
    for cut in [bytes.len() - 1, bytes.len() / 2, 100, 7, 0] {
        std::fs::write(&path, &bytes[..cut]).unwrap();
        let e = open_err(&dir);
        assert!(matches!(e, Error::Safetensors { .. }), "{e:?}");
        assert!(
            e.to_string()
                .contains("diffusion_pytorch_model.safetensors"),
            "{e}"
        );
    }
}

#[test]
fn missing_tensor_is_named() {
    let dir = temp_copy("attn_two_levels_heads", "renamed");
    let gone = "mid_block.attentions.0.to_k.weight";
    rewrite_tensors(&dir, |n, d, s, b| {
        keep(
            if n == gone {
                "mid_block.attentions.0.to_k.wieght"
            } else {
                n
            },
            d,
            s,
            b,
        )
    });
    let e = open_err(&dir);
    assert!(
        matches!(e, Error::MissingTensor { .. }) && e.to_string().contains(gone),
        "{e}"
    );
}

#[test]
fn misshapen_tensor_names_both_shapes() {
    let dir = temp_copy("bf16", "shape");
    rewrite_tensors(&dir, |n, d, s, b| {
        if n == "up_blocks.0.resnets.1.conv1.weight" {
            // [12, 18, 3, 3] stored as [18, 12, 3, 3]: same bytes, wrong shape.
            (n.to_string(), d, vec![s[1], s[0], s[2], s[3]], b.to_vec())
        } else {
            keep(n, d, s, b)
        }
    });
    let e = open_err(&dir);
    let msg = e.to_string();
    assert!(matches!(e, Error::TensorShape { .. }), "{e:?}");
    assert!(msg.contains("up_blocks.0.resnets.1.conv1.weight"), "{msg}");
    assert!(
        msg.contains("[18, 12, 3, 3]") && msg.contains("[12, 18, 3, 3]"),
        "{msg}"
    );
}

#[test]
fn other_dtypes_are_rejected() {
    let dir = temp_copy("bf16", "dtype");
    rewrite_tensors(&dir, |n, d, s, b| {
        if n == "conv_in.bias" {
            let wide: Vec<u8> = b
                .chunks_exact(2)
                .flat_map(|_| 0.5f64.to_le_bytes())
                .collect();
            (n.to_string(), safetensors::Dtype::F64, s.to_vec(), wide)
        } else {
            keep(n, d, s, b)
        }
    });
    let e = open_err(&dir);
    assert!(matches!(e, Error::TensorDtype { .. }), "{e:?}");
    assert!(
        e.to_string().contains("conv_in.bias") && e.to_string().contains("F64"),
        "{e}"
    );
}

#[test]
fn bad_configs_are_named() {
    let dir = temp_copy("bf16", "config");
    std::fs::write(
        dir.join("config.json"),
        "{\"_class_name\": \"UNet2DModel\",",
    )
    .unwrap();
    let e = open_err(&dir);
    assert!(
        matches!(e, Error::ModelConfig { .. }) && e.to_string().contains("config.json"),
        "{e}"
    );
    let cases: &[(&str, serde_json::Value, &str)] = &[
        (
            "down_block_types",
            serde_json::json!(["SkipDownBlock2D", "AttnDownBlock2D"]),
            "SkipDownBlock2D",
        ),
        (
            "up_block_types",
            serde_json::json!(["AttnSkipUpBlock2D", "UpBlock2D"]),
            "AttnSkipUpBlock2D",
        ),
        (
            "time_embedding_type",
            serde_json::json!("fourier"),
            "Fourier",
        ),
        (
            "class_embed_type",
            serde_json::json!("projection"),
            "class_embed_type 'projection'",
        ),
        // The timestep kind over weights without its MLP.
        (
            "class_embed_type",
            serde_json::json!("timestep"),
            "class_embedding.linear_1.weight",
        ),
        // A class-conditional config over weights without the table.
        (
            "num_class_embeds",
            serde_json::json!(10),
            "class_embedding.weight",
        ),
        (
            "num_class_embeds",
            serde_json::json!(0),
            "num_class_embeds 0",
        ),
        ("act_fn", serde_json::json!("gelu"), "act_fn 'gelu'"),
        (
            "downsample_type",
            serde_json::json!("resnet"),
            "downsample_type 'resnet'",
        ),
        (
            "upsample_type",
            serde_json::json!("resnet"),
            "upsample_type 'resnet'",
        ),
        (
            "resnet_time_scale_shift",
            serde_json::json!("spatial"),
            "spatial",
        ),
        (
            "mid_block_type",
            serde_json::json!("UNetMidBlock2DCrossAttn"),
            "UNetMidBlock2DCrossAttn",
        ),
        (
            "_class_name",
            serde_json::json!("UNet2DConditionModel"),
            "UNet2DConditionModel",
        ),
        (
            "block_out_channels",
            serde_json::json!("many"),
            "block_out_channels",
        ),
        (
            "norm_num_groups",
            serde_json::json!(5),
            "8 channels do not split into 5 groups",
        ),
        (
            "attention_head_dim",
            serde_json::json!(64),
            "attention_head_dim 64",
        ),
        (
            "downsample_padding",
            serde_json::json!(2),
            "downsample_padding 2",
        ),
    ];
    for (key, value, needle) in cases {
        // This one downsamples and upsamples in attention blocks, where the sampler types act.
        let dir = temp_copy("attn_two_levels_heads", "config");
        edit_config(&dir, |c| {
            c.insert(key.to_string(), value.clone());
        });
        let msg = open_err(&dir).to_string();
        assert!(msg.contains(needle), "{key}: '{msg}' lacks '{needle}'");
    }
    let dir = temp_copy("bf16", "config");
    edit_config(&dir, |c| {
        c.remove("up_block_types");
    });
    let msg = open_err(&dir).to_string();
    assert!(
        msg.contains("up_block_types") && msg.contains("missing"),
        "{msg}"
    );
}
