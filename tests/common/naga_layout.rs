//! Reading WGSL with naga for the layout tests (tests/shader_layout.rs, tests/shader_layout_nn.rs):
//! a kernel's module, a struct's member offsets and size, a u32 constant, and `assert_layout!`,
//! which holds a host struct to its WGSL twin field by field.
#![allow(dead_code, unused_macros)] // each of the two tests uses a part

use ddpm_wgpu::gpu::runtime::shaders::Kernel;
use naga::{Expression, Literal, TypeInner};

pub fn module(kernel: Kernel) -> naga::Module {
    naga::front::wgsl::parse_str(&kernel.source())
        .unwrap_or_else(|e| panic!("{}: {}", kernel.name(), e.emit_to_string(&kernel.source())))
}

pub fn wgsl_struct(m: &naga::Module, name: &str) -> (Vec<(String, u32)>, u32) {
    let (_, ty) = m
        .types
        .iter()
        .find(|(_, t)| t.name.as_deref() == Some(name))
        .unwrap_or_else(|| panic!("no struct {name}"));
    match &ty.inner {
        TypeInner::Struct { members, span } => (
            members
                .iter()
                .map(|mb| (mb.name.clone().unwrap_or_default(), mb.offset))
                .collect(),
            *span,
        ),
        _ => panic!("{name} is not a struct"),
    }
}

#[macro_export]
macro_rules! assert_layout {
    ($m:expr, $wgsl:literal, $ty:ty, [$($field:ident),+ $(,)?]) => {{
        let (members, span) = naga_layout::wgsl_struct(&$m, $wgsl);
        assert_eq!(span as usize, std::mem::size_of::<$ty>(), "{} size", $wgsl);
        let rust: Vec<(String, u32)> = vec![$((stringify!($field).to_string(), std::mem::offset_of!($ty, $field) as u32)),+];
        assert_eq!(members, rust, "{} members and offsets", $wgsl);
    }};
}

pub fn wgsl_u32_const(m: &naga::Module, name: &str) -> u32 {
    let (_, c) = m
        .constants
        .iter()
        .find(|(_, c)| c.name.as_deref() == Some(name))
        .unwrap_or_else(|| panic!("no const {name}"));
    match m.global_expressions[c.init] {
        Expression::Literal(Literal::U32(v)) => v,
        ref e => panic!("{name} is not a u32 literal: {e:?}"),
    }
}
