// Labels: an encoded label set, reusable for any number of frames (immutable, thread-safe).
using System;
using System.Collections.Generic;
using System.Collections.ObjectModel;
using Lseg.Native;

namespace Lseg
{
    /// <summary>A label set encoded by a <see cref="Model"/> (its CLIP text embeddings).</summary>
    public sealed class Labels : IDisposable
    {
        readonly LabelsHandle handle;

        internal Labels(LabelsHandle handle, IList<string> names)
        {
            this.handle = handle;
            Names = new ReadOnlyCollection<string>(new List<string>(names));
        }

        /// <summary>The label texts, in label-map order.</summary>
        public IReadOnlyList<string> Names { get; private set; }

        /// <summary>Number of labels.</summary>
        public int Count { get { return (int)NativeMethods.lseg_labels_count(Handle).ToUInt64(); } }

        /// <summary>Text-embedding dimension (512 for the released weights).</summary>
        public int Dim { get { return (int)NativeMethods.lseg_labels_dim(Handle).ToUInt64(); } }

        /// <summary>The L2-normalised text embeddings, row-major `Count x Dim`.</summary>
        public unsafe float[] Embeddings()
        {
            var h = Handle;
            var v = new float[Count * Dim];
            fixed (float* p = v) Library.Check(NativeMethods.lseg_labels_embeddings(h, p, (UIntPtr)(uint)v.Length));
            return v;
        }

        /// <summary>Whether <see cref="Dispose"/> was called.</summary>
        public bool IsDisposed { get { return handle.IsClosed; } }

        internal LabelsHandle Handle
        {
            get
            {
                if (handle.IsClosed) throw new ObjectDisposedException("Labels");
                return handle;
            }
        }

        /// <summary>Free the native label set (calls still running finish first). Idempotent.</summary>
        public void Dispose() { handle.Dispose(); }
    }
}
