package dev.glimpse.kernels.cuda.timeline;

import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;

class KernelNamesTest {

    @Test
    void externCNamesStayAsTheyAre() {
        assertEquals("rms_norm_rows_v4_4", KernelNames.readable("rms_norm_rows_v4_4"));
    }

    @Test
    void nestedMangledNamesKeepTheirQualifiedNameOnly() {
        assertEquals("cutlass::Kernel2", KernelNames.readable("_ZN7cutlass7Kernel2I4TypeEEvNT_6ParamsE"));
    }

    @Test
    void plainMangledNamesKeepTheirIdentifier() {
        assertEquals("gemv2T_kernel_val", KernelNames.readable("_Z17gemv2T_kernel_valIiLi128ELi16EEvT_"));
    }

    @Test
    void namesThatDoNotParseStayAsTheyAre() {
        assertEquals("_Z99short", KernelNames.readable("_Z99short"));
        assertEquals("_ZNK3foo", KernelNames.readable("_ZNK3foo"));
    }
}
