"""Models: a Design -> a Keras model (backbones, branches, the neural fusions, head), and the layers an
export carries. Importing this package imports Keras (quietly, through _runtime, before anything else);
modules of the layers above that need Keras itself take it from here (``from fusion_search.models import
keras``), so no module of ours can be the first to import it loudly."""

from fusion_search.models import _runtime  # noqa: F401,I001  (first: backend settings, TensorFlow loaded quietly)
from fusion_search.models._backbones import backbone_blocks, build_backbone, registered_backbones, standardises_pixels
from fusion_search.models._batches import RowBatches
from fusion_search.models._build import (
    LEARNING_RATE_GROUPS, SCORING_BATCH, TrainingRowStats, build_model, feature_extractor, loss_spec, make_optimizer, model_inputs, output_names,
    predict_scores,
)
from fusion_search.models._runtime import (
    backend_name, configure_precision, device_name, gpu_memory, keras, make_deterministic, use_jit,
)
from fusion_search.models._categories import CategoricalEncoding
from fusion_search.models._serving import CategoricalVocabulary, ImageDescriptors, NumericPreprocess, with_preprocessing
from fusion_search.models.fusion import Fusion, get_fusion, register_fusion, registered_fusions, unregister_fusion

__all__ = [
    "CategoricalEncoding", "CategoricalVocabulary", "Fusion", "ImageDescriptors", "LEARNING_RATE_GROUPS", "NumericPreprocess", "backbone_blocks", "backend_name", "build_backbone",
    "build_model", "configure_precision", "device_name", "feature_extractor", "get_fusion", "gpu_memory", "keras", "loss_spec",
    "RowBatches", "SCORING_BATCH", "TrainingRowStats", "make_deterministic", "make_optimizer", "model_inputs", "predict_scores", "register_fusion",
    "registered_backbones", "registered_fusions", "standardises_pixels", "output_names", "unregister_fusion", "use_jit",
    "with_preprocessing",
]
