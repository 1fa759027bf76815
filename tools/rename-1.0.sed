# tools/rename-1.0.sed - brings C code written against libmlp 0.x to the 1.0
# names (docs/design.md, "Names"): sed -i -f tools/rename-1.0.sed *.c
s/\bmlp_tensor_reshape_\b/mlp_tensor_set_shape/g
s/\bmlp_set_grad_enabled\b/mlp_ctx_set_grad_enabled/g
s/\bmlp_is_grad_enabled\b/mlp_ctx_grad_enabled/g
s/\bmlp_optim_steps\b/mlp_optim_num_steps/g
s/\bmlp_model_param_count\b/mlp_model_param_numel/g
