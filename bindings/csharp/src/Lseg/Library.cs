// Library-wide queries, the status check every call goes through, and the progress
// trampoline (a static callback: IL2CPP cannot call instance delegates from native code).
using System;
using System.Runtime.ExceptionServices;
using System.Runtime.InteropServices;
using System.Threading;
using AOT;
using Lseg.Native;

namespace Lseg
{
    /// <summary>Version, backends and colours of the native library.</summary>
    public static class Library
    {
        /// <summary>Version of the native library, e.g. "0.1.0".</summary>
        public static string Version { get { return NativeMethods.Utf8(NativeMethods.lseg_version()); } }
        /// <summary>Binary-interface version (this binding is written for <see cref="NativeMethods.LSEG_ABI_VERSION"/>).</summary>
        public static uint AbiVersion { get { return NativeMethods.lseg_abi_version(); } }
        /// <summary>`LSEG_ERR_...` name of a status.</summary>
        public static string StatusName(Status s) { return NativeMethods.Utf8(NativeMethods.lseg_status_name((int)s)); }
        /// <summary>Whether a backend is compiled into the native library.</summary>
        public static bool BackendIsCompiled(Backend b) { return NativeMethods.lseg_backend_is_compiled((uint)b); }
        /// <summary>CUDA devices libtorch sees (0 without the libtorch backend).</summary>
        public static uint CudaDeviceCount { get { return NativeMethods.lseg_cuda_device_count(); } }

        /// <summary>The colour lseg draws label index <paramref name="label"/> with (R, G, B).</summary>
        public static unsafe byte[] LabelColor(int label)
        {
            if (label < 0) throw new ArgumentOutOfRangeException("label", "label index is negative");
            var rgb = new byte[3];
            fixed (byte* p = rgb) Check(NativeMethods.lseg_label_color((uint)label, p));
            return rgb;
        }

        /// <summary>Throw the thread's last error as an <see cref="LsegException"/> unless
        /// <paramref name="status"/> is OK. Called right after the native call, on its thread.</summary>
        internal static void Check(int status)
        {
            if (status == 0) return;
            throw new LsegException((Status)status, NativeMethods.Utf8(NativeMethods.lseg_last_error()));
        }
    }

    /// <summary>A progress callback and cancellation token handed to native code as user data.</summary>
    internal sealed class ProgressState : IDisposable
    {
        static readonly ProgressFn Trampoline = OnProgress;  // kept alive for the process
        internal static readonly IntPtr TrampolinePtr = Marshal.GetFunctionPointerForDelegate(Trampoline);

        readonly Func<int, int, bool> callback;
        readonly CancellationToken token;
        GCHandle self;
        Exception error;

        internal ProgressState(Func<int, int, bool> callback, CancellationToken token)
        {
            this.callback = callback;
            this.token = token;
            self = GCHandle.Alloc(this);
        }

        /// <summary>Whether native code needs the callback at all.</summary>
        internal static bool Needed(Func<int, int, bool> callback, CancellationToken token)
        {
            return callback != null || token.CanBeCanceled;
        }

        internal IntPtr UserData { get { return GCHandle.ToIntPtr(self); } }

        [MonoPInvokeCallback(typeof(ProgressFn))]
        static bool OnProgress(UIntPtr done, UIntPtr total, IntPtr userData)
        {
            var s = (ProgressState)GCHandle.FromIntPtr(userData).Target;
            try
            {
                if (s.token.IsCancellationRequested) return false;
                return s.callback == null || s.callback((int)done.ToUInt64(), (int)total.ToUInt64());
            }
            catch (Exception e)  // never unwinds through native frames
            {
                s.error = e;
                return false;
            }
        }

        /// <summary>After the call: rethrow the callback's exception, turn a cancellation by
        /// the token into OperationCanceledException, else check the status.</summary>
        internal void Finish(int status)
        {
            if (error != null) ExceptionDispatchInfo.Capture(error).Throw();
            if (status == (int)Status.Cancelled && token.IsCancellationRequested)
                throw new OperationCanceledException(token);
            Library.Check(status);
        }

        public void Dispose()
        {
            if (self.IsAllocated) self.Free();
        }
    }
}
