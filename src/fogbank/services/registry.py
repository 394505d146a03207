"""The providers a server runs, built once from the Config."""

from __future__ import annotations

from fogbank.config import Config
from fogbank.engines.models.registry import ModelRegistry
from fogbank.protocol.accounts import KeyStore
from fogbank.protocol.dispatch import Provider


def build_providers(config: Config, keys: KeyStore, models: ModelRegistry | None = None) -> list[Provider]:
    """Providers are closed in list order: those whose workers use other stores come first.

    `models` is the one ModelRegistry the AI services share (the app passes the one it holds).
    """
    from fogbank.services.athena.provider import AthenaProvider
    from fogbank.services.comprehend.provider import ComprehendProvider
    from fogbank.services.firehose.provider import FirehoseProvider
    from fogbank.services.glue.provider import GlueProvider
    from fogbank.services.kinesis.provider import KinesisProvider
    from fogbank.services.polly.provider import PollyProvider
    from fogbank.services.redshift.provider import RedshiftProvider
    from fogbank.services.redshift_data.provider import RedshiftDataProvider
    from fogbank.services.redshift_serverless.provider import RedshiftServerlessProvider
    from fogbank.services.rekognition.provider import RekognitionProvider
    from fogbank.services.s3.provider import S3Provider
    from fogbank.services.sts.provider import StsProvider
    from fogbank.services.textract.provider import TextractProvider
    from fogbank.services.transcribe.provider import TranscribeProvider
    from fogbank.services.translate.provider import TranslateProvider

    models = models if models is not None else ModelRegistry(config, config.model_overrides)
    s3 = S3Provider(config)
    kinesis = KinesisProvider(config, enforce_limits=config.kinesis_limits)
    glue = GlueProvider(config, s3)
    athena = AthenaProvider(config, s3, glue.catalog)
    firehose = FirehoseProvider(config, s3=s3, kinesis=kinesis, glue=glue)
    redshift = RedshiftProvider(config)
    serverless = RedshiftServerlessProvider(config)
    redshift_data = RedshiftDataProvider(config, s3, redshift, serverless, lambda: glue.catalog)
    ai = [ComprehendProvider(config, models, s3), PollyProvider(config, s3, models),
          TranscribeProvider(config, s3, models), TranslateProvider(config, s3, models),
          TextractProvider(config, models, s3), RekognitionProvider(config, models, s3)]
    return [athena, firehose, redshift_data, *ai, s3, StsProvider(config, keys), kinesis, glue, redshift, serverless]
