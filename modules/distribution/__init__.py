"""distribution: each block's fees to validators by signed power, commission to operators, the
rest to delegators by lazy F1 accounting; a community pool takes the tax and rounding dust."""
