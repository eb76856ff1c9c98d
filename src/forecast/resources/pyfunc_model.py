"""MLflow "models from code" entry point of the logged pyfunc model (see forecast.serving).

MLflow executes this file when it loads a logged model; the package never imports it.
"""

import mlflow

from forecast.serving import TownProspectsModel

mlflow.models.set_model(TownProspectsModel())
