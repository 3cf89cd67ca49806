//! The library's own settings, read through MPI's tool interface (MPI_T control
//! variables): what a deadlock report of a real run says of the eager limit is the
//! library's figure, not a preset's.

use mpi::ffi;
use mpi::traits::*;
use std::ffi::CString;

/// Control variables that hold a library's eager limit in bytes, in the order tried:
/// Open MPI's shared-memory transports (vader in 4.x, sm in 5.x) when every rank is on
/// one node, its TCP transport otherwise; MPICH's ch3 and ch4 (OFI) devices.
const ON_ONE_NODE: [&str; 4] = [
    "btl_vader_eager_limit",
    "btl_sm_eager_limit",
    "MPIR_CVAR_CH3_EAGER_MAX_MSG_SIZE",
    "MPIR_CVAR_CH4_OFI_EAGER_MAX_MSG_SIZE",
];
const ACROSS_NODES: [&str; 3] =
    ["btl_tcp_eager_limit", "MPIR_CVAR_CH3_EAGER_MAX_MSG_SIZE", "MPIR_CVAR_CH4_OFI_EAGER_MAX_MSG_SIZE"];

/// The eager limit of the library between the ranks of `world`, if it says. Collective
/// over `world` (it asks whether every rank shares a node).
pub(super) fn eager_limit(world: &mpi::topology::SimpleCommunicator) -> Option<u64> {
    let mut node = unsafe { ffi::RSMPI_COMM_NULL };
    // SAFETY: plain FFI calls with valid out-pointers; the new communicator is freed below.
    let one_node = unsafe {
        ffi::MPI_Comm_split_type(world.as_raw(), ffi::RSMPI_COMM_TYPE_SHARED, 0, ffi::RSMPI_INFO_NULL, &mut node);
        let mut size = 0;
        ffi::MPI_Comm_size(node, &mut size);
        ffi::MPI_Comm_free(&mut node);
        size == world.size()
    };
    let names: &[&str] = if one_node { &ON_ONE_NODE } else { &ACROSS_NODES };
    let mut provided = 0;
    // SAFETY: MPI_T may be initialised any number of times, each matched by a finalize.
    if unsafe { ffi::MPI_T_init_thread(ffi::RSMPI_THREAD_SINGLE, &mut provided) } != ffi::MPI_SUCCESS as i32 {
        return None;
    }
    let found = names.iter().find_map(|name| read(name));
    // SAFETY: matches the init above.
    unsafe { ffi::MPI_T_finalize() };
    found
}

/// The value of the integer control variable `name`, if the library has it.
fn read(name: &str) -> Option<u64> {
    let cname = CString::new(name).ok()?;
    let mut index = 0;
    // SAFETY: a NUL-terminated name and a valid out-pointer.
    if unsafe { ffi::MPI_T_cvar_get_index(cname.as_ptr(), &mut index) } != ffi::MPI_SUCCESS as i32 {
        return None;
    }
    let (mut verbosity, mut bind, mut scope) = (0, 0, 0);
    let mut datatype = unsafe { ffi::RSMPI_DATATYPE_NULL };
    let mut enumtype = std::ptr::null_mut();
    let (mut name_len, mut desc_len) = (0, 0);
    // SAFETY: null name and description buffers with zero lengths ask for neither.
    let info = unsafe {
        ffi::MPI_T_cvar_get_info(
            index,
            std::ptr::null_mut(),
            &mut name_len,
            &mut verbosity,
            &mut datatype,
            &mut enumtype,
            std::ptr::null_mut(),
            &mut desc_len,
            &mut bind,
            &mut scope,
        )
    };
    if info != ffi::MPI_SUCCESS as i32 || bind != ffi::MPI_T_BIND_NO_OBJECT as i32 {
        return None;
    }
    let mut width = 0;
    // SAFETY: a datatype the library returned, and a valid out-pointer.
    unsafe { ffi::MPI_Type_size(datatype, &mut width) };
    let mut handle = std::ptr::null_mut();
    let mut count = 0;
    // SAFETY: a variable bound to no object takes a null object handle.
    if unsafe { ffi::MPI_T_cvar_handle_alloc(index, std::ptr::null_mut(), &mut handle, &mut count) }
        != ffi::MPI_SUCCESS as i32
    {
        return None;
    }
    // Room for `count` values of up to 8 bytes each; one is read.
    let mut buffer = vec![0u64; count.max(1) as usize];
    // SAFETY: the buffer holds `count` values of `width` ≤ 8 bytes; the handle is freed after.
    let ok = unsafe { ffi::MPI_T_cvar_read(handle, buffer.as_mut_ptr().cast()) } == ffi::MPI_SUCCESS as i32;
    // SAFETY: the handle was allocated above.
    unsafe { ffi::MPI_T_cvar_handle_free(&mut handle) };
    let bytes = buffer[0].to_ne_bytes();
    let value = match width {
        4 => i32::from_ne_bytes(bytes[..4].try_into().expect("4 bytes")) as i64,
        8 => i64::from_ne_bytes(bytes),
        _ => return None,
    };
    (ok && value > 0).then_some(value as u64)
}
