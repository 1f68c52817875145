"""models event types (attributes marked * are indexed)."""

REGISTER_MODEL = (
    "register_model"  # model_id*, owner*, family, num_layers, weights_root, price_per_token
)
UPDATE_MODEL = "update_model"  # model_id*, owner*, price_per_token, min_redundancy
RETIRE_MODEL = "retire_model"  # model_id*, owner*
