package dev.glimpse.kernels;

/** Where a tensor's memory lives. Host memory is readable from Java; device memory is not. */
public record Device(Kind kind, int index) {

    public enum Kind { CPU, CUDA }

    public static final Device CPU = new Device(Kind.CPU, 0);

    public static Device cuda(int index) {
        return new Device(Kind.CUDA, index);
    }

    public boolean isHost() {
        return kind == Kind.CPU;
    }

    @Override
    public String toString() {
        return kind == Kind.CPU ? "cpu" : "cuda:" + index;
    }
}
