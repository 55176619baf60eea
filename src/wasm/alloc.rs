//! The WebAssembly build's global allocator: the platform's (dlmalloc on
//! `wasm32-unknown-unknown`), wiping every block as it is given back.
//!
//! Linear memory is never returned to the browser and dlmalloc reuses it
//! without clearing it, so without this the decrypted record (its JSON, the
//! parsed strings, the chart's markup, and the buffers wasm-bindgen passes
//! strings through) would stay readable in `memory.buffer` after
//! `record.free()` or a failed open, until overwritten by chance. With it, a
//! freed block holds zeros (apart from the words dlmalloc keeps in free
//! chunks: sizes and free-list links).
//!
//! Growing, `realloc` is `alloc` + copy + wipe + `dealloc`: dlmalloc's own
//! `realloc` may move a block and free the old one unwiped. Shrinking, the
//! part given up is wiped and dlmalloc's `realloc` keeps the block where it
//! is: the Rust port takes every chunk from its heap (none straight from
//! `memory.grow`, which it could not resize in place), and a heap chunk
//! shrinks by splitting off its end. So a shrunk buffer (a folded
//! plaintext, a string boxed to its length) leaves no copy behind, and the
//! room it gives up is free at once, beside it.

use std::alloc::{GlobalAlloc, Layout, System};
use std::hint::black_box;

/// Wipes each block on `dealloc` and the old block of a `realloc`.
pub struct ZeroingAllocator;

#[global_allocator]
static ALLOCATOR: ZeroingAllocator = ZeroingAllocator;

/// Blocks up to this size are wiped with stores inline: most blocks are
/// small (strings, JSON values), and for those a few stores are cheaper than
/// a `memory.fill`, which engines run as a call out of the compiled code.
const INLINE_WIPE: usize = 128;

/// Zeroes `len` bytes at `ptr`. Small blocks (dlmalloc's are 8-byte aligned)
/// by volatile word stores, larger ones by one `memory.fill` that `black_box`
/// keeps from being dropped as a store to memory about to be freed.
#[inline(always)]
unsafe fn wipe(ptr: *mut u8, len: usize) {
    if len <= INLINE_WIPE && ptr as usize % 8 == 0 {
        let words = len / 8;
        for i in 0..words {
            ptr.cast::<u64>().add(i).write_volatile(0);
        }
        for i in words * 8..len {
            ptr.add(i).write_volatile(0);
        }
    } else {
        std::ptr::write_bytes(ptr, 0, len);
        black_box(ptr);
    }
}

unsafe impl GlobalAlloc for ZeroingAllocator {
    #[inline]
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        System.alloc(layout)
    }

    #[inline]
    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        System.alloc_zeroed(layout)
    }

    #[inline]
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        wipe(ptr, layout.size());
        System.dealloc(ptr, layout);
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        // The platform's `realloc` is dlmalloc's for the alignments it gives
        // every block (8 bytes); larger ones it emulates by a copy.
        if new_size <= layout.size() && layout.align() <= 8 {
            wipe(ptr.add(new_size), layout.size() - new_size);
            return System.realloc(ptr, layout, new_size);
        }
        // SAFETY: the caller guarantees `new_size` is non-zero and, rounded up
        // to `layout.align()`, does not overflow `isize`.
        let new_layout = Layout::from_size_align_unchecked(new_size, layout.align());
        let new = System.alloc(new_layout);
        if !new.is_null() {
            std::ptr::copy_nonoverlapping(ptr, new, layout.size().min(new_size));
            self.dealloc(ptr, layout);
        }
        new
    }
}
